"""DSSN (Tian et al., "Improving Semi-Supervised Semantic Segmentation with Dual-Level
Siamese Structure Network", ACM MM 2023) on the weak-to-strong framework."""
import torch.nn.functional as F
from mmseg.registry import MODELS

from ..utils import class_aware_selection, masked_cross_entropy, standardize
from .weak_to_strong_segmentor import WeakToStrongSegmentor


def masked_mse(a, b, mask):
    """Mean over ``mask`` (B, H, W) pixels and classes of ``(n(a) - n(b))^2``."""
    error = F.mse_loss(standardize(a), standardize(b), reduction='none').mean(1)
    return (error * mask).sum() / mask.sum().clamp_min(1)


@MODELS.register_module()
class DSSNSegmentor(WeakToStrongSegmentor):
    """Two strong views and two feature perturbations, kept consistent pairwise.

    Pseudo-labels are chosen per image and class (:func:`class_aware_selection`,
    ``t_bc = 0.96 m_bc`` if ``m_bc > 0.92`` else ``m_bc``). Losses as
    published: ``0.5 [L_x + 0.25 (CE_s1 + CE_s2 + CE_fp1 + CE_fp2) + 0.01
    (MSE(n(s1), n(s2)) + MSE(n(fp1), n(fp2)))]``, n the per-pixel
    standardisation of the logits over classes (:func:`standardize`):
    ``labeled_weight=0.5, strong_weight=fp_weight=0.125,
    consistency_weight=0.005``. The two strong views carry different CutMix
    boxes, so their MSE runs over the image pixels where both boxes agree
    (both show the same image); the two perturbations of the weak view are
    compared on every image pixel.

    Args:
        high (float): class peak confidence above which the threshold is relaxed.
        scale (float): relaxed threshold as a fraction of the peak.
        consistency_weight (float): weight of each MSE term.
        Others: see :class:`WeakToStrongSegmentor`.
    """

    def __init__(self, high=0.92, scale=0.96, fp_weight=0.125, consistency_weight=0.005,
                 **kwargs):
        super().__init__(fp_weight=fp_weight, **kwargs)
        self.high, self.scale = high, scale
        self.consistency_weight = consistency_weight

    def pseudo_targets(self, probs, valid, teacher_feats, student_feats, labeled_feats,
                       data_samples):
        keep = class_aware_selection(probs, valid, self.high, self.scale)
        return (probs.argmax(1), keep), (probs.argmax(1), keep)

    def strong_losses(self, strong_logits, mixed, unlabeled):
        losses = super().strong_losses(strong_logits, mixed, unlabeled)
        if len(strong_logits) != 2:
            raise ValueError(f'DSSN needs two strong views, got {len(strong_logits)}: set '
                             'StrongViews(num_views=2)')
        boxes = unlabeled['cutmix_box']
        same = (boxes[0] == boxes[1]) & unlabeled['valid']
        losses['loss_u_siamese_s'] = self.consistency_weight * masked_mse(*strong_logits, same)
        return losses

    def perturbation_losses(self, weak_feats, labels, keep, valid, size):
        logits = [self.decode(self.student, self.perturb(weak_feats), size) for _ in range(2)]
        losses = {f'loss_u_fp{index}': self.fp_weight * masked_cross_entropy(
            view, labels, keep, valid) for index, view in enumerate(logits, 1)}
        losses['loss_u_siamese_fp'] = self.consistency_weight * masked_mse(*logits, valid)
        return losses
