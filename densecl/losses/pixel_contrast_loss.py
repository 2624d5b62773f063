"""Pixel contrast of ContrastiveSeg (Wang et al., "Exploring Cross-Image Pixel
Contrast for Semantic Segmentation", ICCV 2021)."""
from mmseg.registry import MODELS

from .. import ops
from .base_pixel_contrast_loss import BasePixelContrastLoss


@MODELS.register_module()
class PixelContrastLoss(BasePixelContrastLoss):
    """ContrastiveSeg's loss (paper eq. 2): each positive against the negatives only.

    ``L_i = T / T_base * 1/|P(i)| sum_{p in P(i)} -log(e^{s_ip} / (e^{s_ip} +
    sum_{n in N(i)} e^{s_in}))`` with ``s = z.z' / T``, N(i) the pixels of
    other classes; computed exactly over all labelled pixels by
    :func:`densecl.ops.pixel_contrast_loss`. The released code samples at
    most 1,024 anchors (``sampling='hard'`` here) and uses a pixel and a
    segment memory of 5,000 entries per class (``memory=``). See
    :class:`BasePixelContrastLoss` for the other args.

    Args:
        base_temperature (float): the loss is scaled by temperature / base_temperature.
    """

    def __init__(self, temperature=0.1, base_temperature=0.07, **kwargs):
        super().__init__(temperature=temperature, **kwargs)
        self.base_temperature = base_temperature

    def contrast(self, anchors, labels, extra, extra_labels):
        return ops.pixel_contrast_loss(anchors, labels, self.temperature, self.base_temperature,
                                       self.ignore_index, extra, extra_labels,
                                       backend=self.backend)
