"""Anchor-to-prototype contrast of CSS (Wang et al., "Space Engage: Collaborative Space
Supervision for Contrastive-based Semi-Supervised Semantic Segmentation", ICCV 2023)."""
import torch
from mmseg.registry import MODELS

from .. import ops
from ..models.utils import ClassPrototypes
from .base_pixel_contrast_loss import BasePixelContrastLoss


def _per_class_subset(labels, count, score=None):
    """(A,) bool mask keeping, per class, ``count`` rows: the lowest ``score`` or random ones."""
    keep = torch.zeros_like(labels, dtype=torch.bool)
    for c in labels.unique().tolist():
        rows = (labels == c).nonzero()[:, 0]
        order = (score[rows].argsort() if score is not None
                 else torch.randperm(rows.numel(), device=rows.device))
        keep[rows[order[:count]]] = True
    return keep


@MODELS.register_module()
class PrototypeContrastLoss(BasePixelContrastLoss):
    """CE of each anchor over [its class prototype, pixels of other classes] (CSS).

    ``L_i = -log(e^{cos(a_i, P_c)/t} / (e^{cos(a_i, P_c)/t} + sum_n e^{cos(a_i, n)/t}))``
    with ``c`` the anchor's label and ``n`` the (detached) embeddings of
    pixels of other classes in the batch, exact over all valid pixels through
    :func:`densecl.ops.prototype_contrast_loss`. The released code samples
    256 anchors (the least similar to their prototype: the hard ones) and 512
    negatives per class; ``max_anchors_per_class`` / ``max_keys_per_class``
    reproduce that. The prototypes (:class:`ClassPrototypes`, EMA decay 0.99)
    are buffers of this loss; :class:`CSSSegmentor` updates them from
    labelled pixels and confident pseudo-labelled ones. See
    :class:`BasePixelContrastLoss` for the other args.

    Args:
        num_classes (int): number of classes.
        dim (int): embedding dimension.
        temperature (float): 0.5 in CSS.
        decay (float): weight of the previous prototype at each update.
        max_anchors_per_class (int | None): keep the hardest anchors of each class only.
        max_keys_per_class (int | None): keep random negatives of each class only.
    """

    def __init__(self, num_classes, dim, temperature=0.5, decay=0.99, max_anchors_per_class=None,
                 max_keys_per_class=None, **kwargs):
        super().__init__(temperature=temperature, **kwargs)
        self.prototypes = ClassPrototypes(num_classes, dim, decay, self.ignore_index)
        self.max_anchors_per_class = max_anchors_per_class
        self.max_keys_per_class = max_keys_per_class

    def select_anchors(self, embeddings, labels, predictions):
        anchors, anchor_labels = super().select_anchors(embeddings, labels, predictions)
        valid = anchor_labels != self.ignore_index
        anchors, anchor_labels = anchors[valid], anchor_labels[valid]
        if self.max_anchors_per_class is not None:
            similarity = (anchors.detach() * self.prototypes.prototypes[anchor_labels]).sum(1)
            hard = _per_class_subset(anchor_labels, self.max_anchors_per_class, similarity)
            anchors, anchor_labels = anchors[hard], anchor_labels[hard]
        return anchors, anchor_labels

    def contrast(self, anchors, labels, extra, extra_labels):
        keys, key_labels = anchors.detach(), labels
        if self.max_keys_per_class is not None:
            kept = _per_class_subset(labels, self.max_keys_per_class)
            keys, key_labels = keys[kept], key_labels[kept]
        return ops.prototype_contrast_loss(anchors, labels, self.prototypes.prototypes,
                                           self.temperature, keys, key_labels,
                                           self.ignore_index, backend=self.backend)
