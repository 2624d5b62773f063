"""Supervised contrastive loss over pixels (Khosla et al., NeurIPS 2020)."""
from mmseg.registry import MODELS

from .. import ops
from .base_pixel_contrast_loss import BasePixelContrastLoss


@MODELS.register_module()
class PixelSupConLoss(BasePixelContrastLoss):
    """SupCon's L_out over every labelled pixel of the batch.

    For anchor i with positives P(i) (same label) and all other keys A(i):
    ``L_i = -1/|P(i)| sum_p log(exp(s_ip) / sum_{a in A(i)} exp(s_ia))``,
    ``s = z.z' / temperature``; computed exactly by
    :func:`densecl.ops.supcon_loss` without the N x N matrix. See
    :class:`BasePixelContrastLoss` for anchors, memory and the other args.
    """

    def contrast(self, anchors, labels, extra, extra_labels):
        return ops.supcon_loss(anchors, labels, self.temperature, self.ignore_index, extra,
                               extra_labels, backend=self.backend)
