"""UniMatch-style weak-to-strong consistency (Yang et al., "Revisiting Weak-to-Strong
Consistency in Semi-Supervised Semantic Segmentation", CVPR 2023)."""
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from ..utils import cutmix, masked_cross_entropy
from .semi_supervised_segmentor import SemiSupervisedSegmentor

FP_TARGETS = ('teacher', 'student')


def split_levels(feats, num):
    """Per backbone level, the first ``num`` images and the rest."""
    return [f[:num] for f in feats], [f[num:] for f in feats]


@MODELS.register_module()
class WeakToStrongSegmentor(SemiSupervisedSegmentor):
    """Pseudo-labels of the weak view supervise strong and feature-perturbed views.

    Per step, the weak view's pseudo-labels (argmax) and confidence come from
    the EMA teacher (``teacher_type='ema'``) or, as in UniMatch's release,
    from the online student (``'online'``: its train-mode prediction of the
    weak view, detached; the CutMix source is labelled by the student in eval
    mode, as the release labels its mix batch). Pixels with confidence >=
    ``conf_thresh`` (0.95) are kept. The student sees the labelled images and
    the weak views in one backbone pass, predicts each CutMix-ed strong view
    (pseudo-labels mixed with the same boxes) and the weak view's features
    under Dropout2d (feature perturbation, FP, on every backbone level).
    With ``joint_decode`` (both releases) the decode head sees the clean and
    the perturbed features of labelled and weak images in one pass, so its
    BN statistics are those of that whole batch; without it (densecl's
    first version) the labelled images and each perturbation are decoded
    separately. ``fp_targets='student'`` (DSSN) takes the FP pseudo-labels
    from the student's own weak prediction instead of the teacher's.
    UniMatch's loss ``(L_x + 0.25 L_s1 + 0.25 L_s2 + 0.5 L_fp) / 2`` is
    ``labeled_weight=0.5, strong_weight=0.125, fp_weight=0.25``; each
    unlabelled CE is summed over kept pixels and divided by the number of
    image (non-padding) pixels. With a :class:`ContrastHead` among the
    student's auxiliary heads and ``contrast_unlabeled=True``, the head also
    contrasts the first strong view's pixels under their confident
    pseudo-labels.

    Args:
        conf_thresh (float): confidence a pseudo-label needs.
        strong_weight (float): weight of each strong view's CE.
        fp_weight (float): weight of each feature-perturbed CE.
        fp_dropout (float): Dropout2d probability of the perturbation.
        contrast_unlabeled (bool): feed pseudo-labelled pixels to ContrastHeads.
        joint_decode (bool): decode clean and perturbed features in one pass.
        fp_targets (str): 'teacher' or 'student': who labels the FP views.
        Others: see :class:`SemiSupervisedSegmentor`.
    """
    num_perturbations = 1

    def __init__(self, conf_thresh=0.95, labeled_weight=0.5, strong_weight=0.125,
                 fp_weight=0.25, fp_dropout=0.5, contrast_unlabeled=True, joint_decode=False,
                 fp_targets='teacher', **kwargs):
        super().__init__(labeled_weight=labeled_weight, **kwargs)
        if fp_targets not in FP_TARGETS:
            raise ValueError(f'fp_targets must be one of {FP_TARGETS}, got {fp_targets!r}')
        self.conf_thresh = conf_thresh
        self.strong_weight = strong_weight
        self.fp_weight = fp_weight
        self.fp_dropout = fp_dropout
        self.contrast_unlabeled = contrast_unlabeled
        self.joint_decode = joint_decode
        self.fp_targets = fp_targets

    def perturb(self, feats):
        """Feature perturbation: Dropout2d on every backbone level."""
        return [F.dropout2d(f, self.fp_dropout, training=True) for f in feats]

    def resize_logits(self, logits, size):
        return resize(logits, size=size, mode='bilinear', align_corners=self.student.align_corners)

    @torch.no_grad()
    def teacher_outputs(self, weak):
        """The teacher's backbone features and class probabilities on the weak views."""
        teacher = self.teacher.module
        feats = teacher.extract_feat(weak)
        return feats, self.decode(teacher, feats, weak.shape[2:]).softmax(1)

    @torch.no_grad()
    def eval_probs(self, weak):
        """The student's class probabilities in eval mode (UniMatch's mix-batch labels)."""
        self.student.eval()
        probs = self.decode(self.student, self.student.extract_feat(weak), weak.shape[2:])
        self.student.train(self.training)
        return probs.softmax(1)

    def joint_logits(self, feats, num_labeled, size):
        """One decode pass over clean and perturbed features of labelled and weak images.

        Returns the labelled images' logits at the head's resolution, the weak
        views' logits and a list of ``num_perturbations`` perturbed weak
        logits, both resized to ``size``.
        """
        views = [feats] + [self.perturb(feats) for _ in range(self.num_perturbations)]
        logits = self.student.decode_head.forward(
            [torch.cat(level) for level in zip(*views)]).chunk(len(views))
        labeled, weak = logits[0][:num_labeled], logits[0][num_labeled:]
        return labeled, self.resize_logits(weak, size), [
            self.resize_logits(view[num_labeled:], size) for view in logits[1:]]

    def perturbed_logits(self, weak_feats, size):
        """Logits of ``num_perturbations`` separately decoded perturbations of the weak view."""
        return [self.decode(self.student, self.perturb(weak_feats), size)
                for _ in range(self.num_perturbations)]

    def select(self, probs, valid):
        """(labels, keep): argmax and confidence >= ``conf_thresh`` on image pixels."""
        confidence, labels = probs.max(1)
        return labels, (confidence >= self.conf_thresh) & valid

    def pseudo_targets(self, probs, valid, teacher_feats, student_feats, labeled_feats,
                       data_samples):
        """((labels, keep) for the classifier, (labels, keep) for the contrast), (B, H, W) each.

        With ``teacher_type='online'`` it also runs on the CutMix source's
        eval-mode probabilities.
        """
        pair = self.select(probs, valid)
        return pair, pair

    def strong_targets(self, box, probs, mix_probs, valid, targets, mix_targets):
        """[labels, keep, valid, contrast labels, contrast keep] of the view with CutMix ``box``.

        Each map takes the box region of the next image's map of the CutMix
        source (``mix_targets``, labelled from ``mix_probs``).
        """
        maps, sources = (*targets[0], valid, *targets[1]), (*mix_targets[0], valid, *mix_targets[1])
        return [cutmix(target, box, source) for target, source in zip(maps, sources)]

    def semi_losses(self, inputs, data_samples, unlabeled):
        weak, valid, size = unlabeled['weak'], unlabeled['valid'], inputs.shape[2:]
        online = self.teacher_type == 'online'
        mix_probs = self.eval_probs(weak) if online else None
        teacher = None if online else self.teacher_outputs(weak)
        feats = self.student.extract_feat(torch.cat([inputs, weak]))
        labeled_feats, weak_feats = split_levels(feats, inputs.shape[0])
        joint = self.joint_logits(feats, inputs.shape[0], size) if self.joint_decode else None
        student_probs = None
        if online or self.fp_targets == 'student':
            weak_logits = joint[1] if joint else self.decode(self.student, weak_feats, size)
            student_probs = weak_logits.detach().softmax(1)
        teacher_feats, probs = teacher or ([f.detach() for f in weak_feats], student_probs)
        args = (valid, teacher_feats, weak_feats, labeled_feats, data_samples)
        targets = self.pseudo_targets(probs, *args)
        mix_targets = targets if mix_probs is None else self.pseudo_targets(mix_probs, *args)

        boxes = unlabeled['cutmix_box']
        strong = [cutmix(view, box) for view, box in zip(unlabeled['strong'], boxes)]
        strong_feats = self.student.extract_feat(torch.cat(strong))
        strong_logits = self.decode(self.student, strong_feats, size).chunk(len(strong))
        mix_probs = probs if mix_probs is None else mix_probs
        mixed = [self.strong_targets(box, probs, mix_probs, valid, targets, mix_targets)
                 for box in boxes]

        contrast = {}
        if self.contrast_unlabeled:
            first_view = [f[:weak.shape[0]] for f in strong_feats]
            contrast = dict(contrast_feats=first_view,
                            contrast_samples=self.pseudo_samples(*mixed[0][3:]))
        losses = self.labeled_losses(labeled_feats, data_samples,
                                     decode_logits=joint[0] if joint else None, **contrast)
        losses.update(self.strong_losses(strong_logits, mixed, unlabeled))
        labels, keep = targets[0] if self.fp_targets == 'teacher' \
            else self.select(student_probs, valid)
        fp_logits = joint[2] if joint else self.perturbed_logits(weak_feats, size)
        losses.update(self.perturbation_losses(fp_logits, labels, keep, valid))
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

    def perturbation_losses(self, fp_logits, labels, keep, valid):
        """CE of each perturbed weak view's logits against the FP pseudo-labels."""
        names = ['loss_u_fp'] if len(fp_logits) == 1 else [
            f'loss_u_fp{index}' for index in range(1, len(fp_logits) + 1)]
        return {name: self.fp_weight * masked_cross_entropy(logits, labels, keep, valid)
                for name, logits in zip(names, fp_logits)}

    def pseudo_samples(self, labels, keep):
        """SegDataSamples whose ``gt_sem_seg`` is ``labels``, 255 where not kept."""
        maps = labels.masked_fill(~keep, 255)
        return [SegDataSample(gt_sem_seg=PixelData(data=m[None])) for m in maps]
