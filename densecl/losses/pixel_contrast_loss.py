"""Pixel contrast of ContrastiveSeg (Wang et al., "Exploring Cross-Image Pixel
Contrast for Semantic Segmentation", ICCV 2021)."""
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from .. import ops
from .base_pixel_contrast_loss import BasePixelContrastLoss


def memory_contrast_loss(anchors, labels, keys, key_labels, temperature, base_temperature,
                         ignore_index=255, backend='auto'):
    """ContrastiveSeg's eq. 2 with the memory entries as the only keys.

    ``L_i = T / T_base * 1/|P(i)| sum_{p in P(i)} softplus(log sum_{n in N(i)}
    e^{s_in} - s_ip)`` with ``s = z.k / T``, P(i) the entries of the anchor's
    class and N(i) those of the other classes; the anchors never key each
    other. Averaged over the anchors that have a positive (0 if none). The
    negatives' logsumexp goes through :func:`densecl.ops.pixel_logsumexp`, so
    only the (A_c, P_c) positive block of one class is formed at a time.
    """
    dtype = torch.promote_types(anchors.dtype, torch.float32)
    total, counted = anchors.new_zeros((), dtype=dtype), 0
    for c in labels[labels != ignore_index].unique().tolist():
        positives = keys[key_labels == c]
        if positives.shape[0] == 0:
            continue
        rows = anchors[labels == c]
        log_neg = ops.pixel_logsumexp(rows, keys, temperature, k_mask=key_labels != c,
                                      backend=backend).to(dtype)
        similarity = rows.to(dtype) @ positives.to(dtype).t() / temperature
        total = total + F.softplus(log_neg[:, None] - similarity).mean(1).sum()
        counted += rows.shape[0]
    if not counted:
        return anchors.sum() * 0
    return total * (temperature / base_temperature) / counted


@MODELS.register_module()
class PixelContrastLoss(BasePixelContrastLoss):
    """ContrastiveSeg's loss (paper eq. 2): each positive against the negatives only.

    ``L_i = T / T_base * 1/|P(i)| sum_{p in P(i)} -log(e^{s_ip} / (e^{s_ip} +
    sum_{n in N(i)} e^{s_in}))`` with ``s = z.z' / T``. Without ``memory``
    the keys are the other anchors (the released run without memory: hard
    sampling, T 0.1, T_base 0.07, weight 0.1), computed exactly through
    :func:`densecl.ops.pixel_contrast_loss`. With ``memory`` the keys are the
    pixel and segment queues only (:func:`memory_contrast_loss`), as in the
    released memory run (T 0.07, T_base 0.07, one anchor per image and class,
    weight 1); ``memory_only=False`` adds the other anchors as keys (densecl's
    earlier default). See :class:`BasePixelContrastLoss` for the other args.

    Args:
        base_temperature (float): the loss is scaled by temperature / base_temperature.
        memory_only (bool): with ``memory``, contrast the anchors with the
            memory entries only; False also with each other.
    """

    def __init__(self, temperature=0.1, base_temperature=0.07, memory_only=True, **kwargs):
        super().__init__(temperature=temperature, **kwargs)
        self.base_temperature = base_temperature
        self.memory_only = memory_only

    def contrast(self, anchors, labels, extra, extra_labels):
        if extra is not None and self.memory_only:
            return memory_contrast_loss(anchors, labels, extra, extra_labels, self.temperature,
                                        self.base_temperature, self.ignore_index, self.backend)
        return ops.pixel_contrast_loss(anchors, labels, self.temperature, self.base_temperature,
                                       self.ignore_index, extra, extra_labels,
                                       backend=self.backend)
