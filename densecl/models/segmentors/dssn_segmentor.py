"""DSSN (Tian et al., "Improving Semi-Supervised Semantic Segmentation with Dual-Level
Siamese Structure Network", ACM MM 2023) on the weak-to-strong framework."""
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmseg.registry import MODELS

from ..utils import class_aware_selection, cutmix, standardize
from .weak_to_strong_segmentor import WeakToStrongSegmentor

SIAMESE_PIXELS = ('all', 'agree')


def masked_mse(a, b, mask):
    """Mean over ``mask`` (B, H, W) pixels and classes of ``(n(a) - n(b))^2``."""
    error = F.mse_loss(standardize(a), standardize(b), reduction='none').mean(1)
    return (error * mask).sum() / mask.sum().clamp_min(1)


@MODELS.register_module()
class DSSNSegmentor(WeakToStrongSegmentor):
    """Two strong views and two feature perturbations, kept consistent pairwise.

    The defaults follow DSSN's released code (kunzhan/DSSN, ``voc/DSSN.py``):

    - Teacher: EMA with decay 0.996 of parameters and BN buffers
      (``teacher_momentum=0.004``), BN layers in train mode, a copy of the
      student after the first step (``teacher_warmup=2``). The strong-view CE
      starts at ``strong_start_iter=1`` (the release's teacher is a random
      network at its first step).
    - Pseudo-labels: class-aware selection (:func:`class_aware_selection`,
      ``t_bc = 0.96 m_bc`` if ``m_bc > 0.92`` else ``m_bc``). The strong
      views' labels and selection come from the teacher's probabilities after
      CutMix (the class peaks ``m_bc`` are those of the mixed map); the two
      FP views' from the student's own weak prediction (``fp_targets``).
    - Losses: ``0.5 [L_x + 0.25 (CE_s1 + CE_s2 + CE_fp1 + CE_fp2) + 0.01
      (MSE(n(s1), n(s2)) + MSE(n(fp1), n(fp2)))]``, n the per-pixel
      standardisation of the logits over classes with the unbiased std
      (:func:`standardize`): ``labeled_weight=0.5,
      strong_weight=fp_weight=0.125, consistency_weight=0.005``. Both MSEs
      average over every pixel (``siamese_pixels='all'``), though the two
      strong views carry different CutMix boxes; ``'agree'`` (densecl's
      first version) restricts the strong MSE to image pixels where both
      boxes agree and the FP MSE to image pixels.

    Args:
        high (float): class peak confidence above which the threshold is relaxed.
        scale (float): relaxed threshold as a fraction of the peak.
        consistency_weight (float): weight of each MSE term.
        siamese_pixels (str): 'all' or 'agree'.
        strong_start_iter (int): first iteration with strong-view CE.
        Others: see :class:`WeakToStrongSegmentor`.
    """
    num_perturbations = 2

    def __init__(self, high=0.92, scale=0.96, fp_weight=0.125, consistency_weight=0.005,
                 siamese_pixels='all', strong_start_iter=1, teacher_momentum=0.004,
                 teacher_mode='train', teacher_warmup=2, joint_decode=True,
                 fp_targets='student', **kwargs):
        super().__init__(fp_weight=fp_weight, teacher_momentum=teacher_momentum,
                         teacher_mode=teacher_mode, teacher_warmup=teacher_warmup,
                         joint_decode=joint_decode, fp_targets=fp_targets, **kwargs)
        if siamese_pixels not in SIAMESE_PIXELS:
            raise ValueError(f'siamese_pixels must be one of {SIAMESE_PIXELS}, '
                             f'got {siamese_pixels!r}')
        self.high, self.scale = high, scale
        self.consistency_weight = consistency_weight
        self.siamese_pixels = siamese_pixels
        self.strong_start_iter = strong_start_iter

    def select(self, probs, valid):
        return probs.argmax(1), class_aware_selection(probs, valid, self.high, self.scale)

    def strong_targets(self, box, probs, mix_probs, valid, targets, mix_targets):
        """Labels and class-aware selection of the CutMix-ed probabilities (as released)."""
        mixed = super().strong_targets(box, probs, mix_probs, valid, targets, mix_targets)
        return [*self.select(cutmix(probs, box, mix_probs), mixed[2]), *mixed[2:]]

    def siamese_mask(self, agree):
        """Pixels of a Siamese MSE: all of them, or ``agree`` (B, H, W) with 'agree'."""
        return torch.ones_like(agree) if self.siamese_pixels == 'all' else agree

    def strong_losses(self, strong_logits, mixed, unlabeled):
        if len(strong_logits) != 2:
            raise ValueError(f'DSSN needs two strong views, got {len(strong_logits)}: set '
                             'StrongViews(num_views=2)')
        losses = super().strong_losses(strong_logits, mixed, unlabeled)
        if MessageHub.get_current_instance().get_info('iter', 0) < self.strong_start_iter:
            losses = {name: 0 * loss for name, loss in losses.items()}
        boxes = unlabeled['cutmix_box']
        same = self.siamese_mask((boxes[0] == boxes[1]) & unlabeled['valid'])
        losses['loss_u_siamese_s'] = self.consistency_weight * masked_mse(*strong_logits, same)
        return losses

    def perturbation_losses(self, fp_logits, labels, keep, valid):
        losses = super().perturbation_losses(fp_logits, labels, keep, valid)
        losses['loss_u_siamese_fp'] = self.consistency_weight * masked_mse(
            *fp_logits, self.siamese_mask(valid))
        return losses
