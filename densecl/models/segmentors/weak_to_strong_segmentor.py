"""UniMatch-style weak-to-strong consistency (Yang et al., "Revisiting Weak-to-Strong
Consistency in Semi-Supervised Semantic Segmentation", CVPR 2023)."""
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from ..utils import cutmix, masked_cross_entropy
from .semi_supervised_segmentor import SemiSupervisedSegmentor


@MODELS.register_module()
class WeakToStrongSegmentor(SemiSupervisedSegmentor):
    """The teacher labels the weak view; the student learns them on strong and perturbed views.

    Per step: the teacher's softmax on the weak view gives pseudo-labels and
    their confidence; pixels with confidence >= ``conf_thresh`` (0.95) are
    kept. The student sees the labelled images and the weak views in one
    pass, predicts each CutMix-ed strong view (pseudo-labels mixed with the
    same boxes) and the weak view's features under Dropout2d (feature
    perturbation, FP, on every backbone level the decode head reads: low-
    and high-level for DeepLabV3+). UniMatch's loss
    ``(L_x + 0.25 L_s1 + 0.25 L_s2 + 0.5 L_fp) / 2`` is ``labeled_weight=0.5,
    strong_weight=0.125, fp_weight=0.25``; each unlabelled CE is summed over
    kept pixels and divided by the number of image (non-padding) pixels. With
    a :class:`ContrastHead` among the student's auxiliary heads and
    ``contrast_unlabeled=True``, the head also contrasts the first strong
    view's pixels under their confident pseudo-labels.

    Args:
        conf_thresh (float): confidence a pseudo-label needs.
        strong_weight (float): weight of each strong view's CE.
        fp_weight (float): weight of the feature-perturbed CE.
        fp_dropout (float): Dropout2d probability of the perturbation.
        contrast_unlabeled (bool): feed pseudo-labelled pixels to ContrastHeads.
        Others: see :class:`SemiSupervisedSegmentor`.
    """

    def __init__(self, conf_thresh=0.95, labeled_weight=0.5, strong_weight=0.125,
                 fp_weight=0.25, fp_dropout=0.5, contrast_unlabeled=True, **kwargs):
        super().__init__(labeled_weight=labeled_weight, **kwargs)
        self.conf_thresh = conf_thresh
        self.strong_weight = strong_weight
        self.fp_weight = fp_weight
        self.fp_dropout = fp_dropout
        self.contrast_unlabeled = contrast_unlabeled

    def perturb(self, feats):
        """Feature perturbation: Dropout2d on every backbone level."""
        return [F.dropout2d(f, self.fp_dropout, training=True) for f in feats]

    @torch.no_grad()
    def teacher_outputs(self, weak):
        """The teacher's backbone features and class probabilities on the weak views."""
        teacher = self.teacher.module
        feats = teacher.extract_feat(weak)
        return feats, self.decode(teacher, feats, weak.shape[2:]).softmax(1)

    def pseudo_targets(self, probs, valid, teacher_feats, student_feats, labeled_feats,
                       data_samples):
        """((labels, keep) for the classifier, (labels, keep) for the contrast), (B, H, W) each."""
        confidence, labels = probs.max(1)
        keep = (confidence >= self.conf_thresh) & valid
        return (labels, keep), (labels, keep)

    def semi_losses(self, inputs, data_samples, unlabeled):
        weak, valid, size = unlabeled['weak'], unlabeled['valid'], inputs.shape[2:]
        teacher_feats, probs = self.teacher_outputs(weak)
        feats = self.student.extract_feat(torch.cat([inputs, weak]))
        labeled_feats = [f[:inputs.shape[0]] for f in feats]
        weak_feats = [f[inputs.shape[0]:] for f in feats]
        (labels, keep), (contrast_labels, contrast_keep) = self.pseudo_targets(
            probs, valid, teacher_feats, weak_feats, labeled_feats, data_samples)

        strong = [cutmix(view, box) for view, box in
                  zip(unlabeled['strong'], unlabeled['cutmix_box'])]
        strong_feats = self.student.extract_feat(torch.cat(strong))
        strong_logits = self.decode(self.student, strong_feats, size).chunk(len(strong))
        mixed = [[cutmix(x, box) for x in (labels, keep, valid, contrast_labels, contrast_keep)]
                 for box in unlabeled['cutmix_box']]

        contrast = {}
        if self.contrast_unlabeled:
            first_view = [f[:weak.shape[0]] for f in strong_feats]
            contrast = dict(contrast_feats=first_view,
                            contrast_samples=self.pseudo_samples(*mixed[0][3:]))
        losses = self.labeled_losses(labeled_feats, data_samples, **contrast)
        losses.update(self.strong_losses(strong_logits, mixed, unlabeled))
        losses.update(self.perturbation_losses(weak_feats, labels, keep, valid, size))
        losses['pseudo_ratio'] = keep.sum() / valid.sum().clamp_min(1)
        return losses

    def strong_losses(self, strong_logits, mixed, unlabeled):
        """CE of each mixed strong view's logits against its mixed pseudo-labels."""
        return {
            f'loss_u_s{index}': self.strong_weight * masked_cross_entropy(
                logits, view_labels, view_keep, view_valid)
            for index, (logits, (view_labels, view_keep, view_valid, *_)) in enumerate(
                zip(strong_logits, mixed), 1)
        }

    def perturbation_losses(self, weak_feats, labels, keep, valid, size):
        """CE of the perturbed weak view's logits against the pseudo-labels."""
        logits = self.decode(self.student, self.perturb(weak_feats), size)
        return {'loss_u_fp': self.fp_weight * masked_cross_entropy(logits, labels, keep, valid)}

    def pseudo_samples(self, labels, keep):
        """SegDataSamples whose ``gt_sem_seg`` is ``labels``, 255 where not kept."""
        maps = labels.masked_fill(~keep, 255)
        return [SegDataSample(gt_sem_seg=PixelData(data=m[None])) for m in maps]
