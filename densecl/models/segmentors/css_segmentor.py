"""CSS (Wang et al., "Space Engage: Collaborative Space Supervision for Contrastive-based
Semi-Supervised Semantic Segmentation", ICCV 2023) on the weak-to-strong framework."""
import math
import warnings

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmseg.models.utils import resize
from mmseg.registry import MODELS

from ..heads import ContrastHead
from ..utils import ClassPrototypes, cutmix
from .weak_to_strong_segmentor import WeakToStrongSegmentor

MODES = ('cross', 'mix')


def max_prototype_confidence(num_classes, tau_r):
    """Largest ``softmax_c(cos(z, P_c) / tau_r)``: cosine 1 to one prototype, -1 to the rest."""
    return 1 / (1 + (num_classes - 1) * math.exp(-2 / tau_r))


def image_weighted_cross_entropy(logits, labels, keep, confident):
    """CE averaged over the ``keep`` pixels, each times its image's confident share.

    The share of image b is ``#confident_b / #keep_b`` (CSS's release: every
    pseudo-label is used, its image weighted by how much of it is confident).
    """
    share = confident.flatten(1).sum(1) / keep.flatten(1).sum(1).clamp_min(1)
    loss = F.cross_entropy(logits, labels.masked_fill(~keep, 0), reduction='none')
    return (share[:, None, None] * loss * keep).sum() / keep.sum().clamp_min(1)


@MODELS.register_module()
class CSSSegmentor(WeakToStrongSegmentor):
    """Pseudo-labels from the logit space and the representation space supervise each other.

    The teacher labels the weak view twice: logit labels (argmax and max of
    its softmax) and representation labels (argmax and max of
    ``softmax_c(cos(z, P_c) / tau_r)``, its raw embeddings ``z`` against the
    class prototypes of the student's :class:`PrototypeContrastLoss` as they
    were before this step, cosines upsampled to the image; a class without
    a prototype has cosine 0). The student sees the labelled images and one
    CutMix-ed strong view in separate passes (no feature perturbation). On
    the strong view, as in CSS's release:

    - 'cross': the classifier learns the representation labels of every
      image pixel, each image's CE times its share of pixels with
      representation confidence >= ``conf_thresh`` (0.97); the contrast
      learns the logit labels with confidence >= ``contrast_thresh`` (0.7);
    - 'mix': only pixels where both labels agree: the classifier learns them
      with each image's CE times (its pixels with logit confidence >=
      ``conf_thresh``) / (its agreeing pixels), the contrast those with logit
      confidence >= ``contrast_thresh``.

    The loss is ``L_sup + L_unsup + r(i) L_contrast`` with the ramp-down
    ``r(i) = exp(-5 (i / rampdown_iters)^2)`` (the release's over 200 epochs,
    here over iterations). The prototypes are updated inside the contrast,
    from the student's labelled and strong-view pixels it contrasts.

    The released ``tau_r`` 0.5 caps the representation confidence below its
    0.97 (0.73 with 21 classes), so the release's cross-mode classifier loss
    on unlabelled images is always 0; the configs use ``tau_r`` 0.1 (the
    loss's ``rep_temperature``) and a warning names the reachable maximum
    when ``conf_thresh`` exceeds it.

    Args:
        mode (str): 'cross' or 'mix'.
        conf_thresh (float): confidence that counts a pixel in its image's share.
        contrast_thresh (float): logit confidence of contrasted unlabelled pixels.
        rampdown_iters (int): iterations over which the contrast weight ramps down.
        strong_weight (float): weight of the unlabelled CE.
        Others: see :class:`WeakToStrongSegmentor`.
    """

    def __init__(self, mode='cross', conf_thresh=0.97, contrast_thresh=0.7,
                 rampdown_iters=1000, labeled_weight=1.0, strong_weight=1.0, **kwargs):
        super().__init__(conf_thresh=conf_thresh, labeled_weight=labeled_weight,
                         strong_weight=strong_weight, **kwargs)
        if mode not in MODES:
            raise ValueError(f'CSS mode must be one of {MODES}, got {mode!r}')
        self.mode = mode
        self.contrast_thresh = contrast_thresh
        self.rampdown_iters = rampdown_iters
        self.head_index, self.contrast_loss = self._find_prototype_head()
        reachable = max_prototype_confidence(self.num_classes, self.contrast_loss.rep_temperature)
        if mode == 'cross' and conf_thresh >= reachable:
            warnings.warn(f'CSS: conf_thresh={conf_thresh} cannot be reached: with tau_r='
                          f'{self.contrast_loss.rep_temperature} and {self.num_classes} classes '
                          f'the representation confidence is at most {reachable:.3f}, so the '
                          'unlabelled classifier loss is 0')

    def _find_prototype_head(self):
        heads = self.student.auxiliary_head if self.student.with_auxiliary_head else []
        heads = heads if isinstance(heads, torch.nn.ModuleList) else [heads]
        for index, head in enumerate(heads):
            loss = getattr(head, 'loss_decode', None)
            if isinstance(head, ContrastHead) and isinstance(
                    getattr(loss, 'prototypes', None), ClassPrototypes):
                return index, head.loss_decode
        raise ValueError('CSSSegmentor needs a ContrastHead with loss_decode='
                         "dict(type='PrototypeContrastLoss', ...) among the student's "
                         'auxiliary heads')

    def _head(self, model):
        heads = model.auxiliary_head
        return heads[self.head_index] if isinstance(heads, torch.nn.ModuleList) else heads

    def rampdown(self):
        """Contrast weight ``exp(-5 (i / rampdown_iters)^2)``, 0 from ``rampdown_iters`` on."""
        step = MessageHub.get_current_instance().get_info('iter', 0)
        return math.exp(-5 * (step / self.rampdown_iters)**2) if step < self.rampdown_iters \
            else 0.0

    def labeled_losses(self, feats, data_samples, **contrast):
        return super().labeled_losses(feats, data_samples, contrast_weight=self.rampdown(),
                                      **contrast)

    @torch.no_grad()
    def representation_probs(self, teacher_feats, size):
        """(B, C, H, W) ``softmax_c(cos(z, P_c) / tau_r)`` of the teacher's embeddings."""
        z = self._head(self.teacher.module).forward(teacher_feats)
        logits = self.contrast_loss.representation_logits(z.permute(0, 2, 3, 1).flatten(0, 2))
        logits = logits.view(*z.shape[:1], *z.shape[2:], -1).permute(0, 3, 1, 2)
        return resize(logits, size=size, mode='bilinear', align_corners=False).softmax(1)

    def css_targets(self, probs, rep_probs, valid):
        """(B, H, W) maps: classifier labels, kept, confident; contrast labels, kept."""
        confidence, labels = probs.max(1)
        rep_confidence, rep_labels = rep_probs.max(1)
        contrast_keep = (confidence >= self.contrast_thresh) & valid
        if self.mode == 'cross':
            return (rep_labels, valid, (rep_confidence >= self.conf_thresh) & valid, labels,
                    contrast_keep)
        agree = (labels == rep_labels) & valid
        return labels, agree, (confidence >= self.conf_thresh) & valid, labels, \
            contrast_keep & agree

    def semi_losses(self, inputs, data_samples, unlabeled):
        weak, size = unlabeled['weak'], inputs.shape[2:]
        teacher_feats, probs = self.teacher_outputs(weak)
        rep_probs = self.representation_probs(teacher_feats, size)
        box = unlabeled['cutmix_box'][0]
        strong = cutmix(unlabeled['strong'][0], box)
        labels, keep, confident, contrast_labels, contrast_keep = [
            cutmix(target, box)
            for target in self.css_targets(probs, rep_probs, unlabeled['valid'])]
        strong_feats = self.student.extract_feat(strong)
        losses = self.labeled_losses(
            self.student.extract_feat(inputs), data_samples, contrast_feats=strong_feats,
            contrast_samples=self.pseudo_samples(contrast_labels, contrast_keep))
        losses['loss_u_s1'] = self.strong_weight * image_weighted_cross_entropy(
            self.decode(self.student, strong_feats, size), labels, keep, confident)
        losses['pseudo_ratio'] = confident.sum() / keep.sum().clamp_min(1)
        return losses
