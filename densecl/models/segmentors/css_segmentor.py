"""CSS (Wang et al., "Space Engage: Collaborative Space Supervision for Contrastive-based
Semi-Supervised Semantic Segmentation", ICCV 2023) on the weak-to-strong framework."""
import math
import warnings

import torch
from mmengine.logging import MessageHub
from mmseg.models.utils import resize
from mmseg.registry import MODELS

from ..heads import ContrastHead
from ..utils import ClassPrototypes, downsample_labels
from .weak_to_strong_segmentor import WeakToStrongSegmentor

MODES = ('cross', 'mix')


def max_prototype_confidence(num_classes, tau_r):
    """Largest ``softmax_c(cos(z, P_c) / tau_r)``: cosine 1 to one prototype, -1 to the rest."""
    return 1 / (1 + (num_classes - 1) * math.exp(-2 / tau_r))


@MODELS.register_module()
class CSSSegmentor(WeakToStrongSegmentor):
    """Pseudo-labels from the logit space and the representation space supervise each other.

    Logit labels: argmax and max of the teacher's softmax. Representation
    labels: ``q_c = softmax_c(cos(z, P_c) / tau_r)`` of the teacher's
    embeddings (its :class:`ContrastHead`) against the class prototypes of the
    student's :class:`PrototypeContrastLoss` (upsampled to the image).
    'cross': representation labels (``q >= rep_thresh``) supervise the
    classifier on the strong and perturbed views, logit labels
    (``>= conf_thresh``) supervise the representation through the contrast;
    'mix': pixels where both agree and both are confident supervise both.
    Prototypes move (EMA 0.99) towards the student's detached embeddings of
    labelled pixels and of unlabelled pixels with logit confidence >=
    ``proto_thresh`` (0.7), before the representation labels are computed.
    The contrast losses (labelled and pseudo-labelled pixels together) are
    weighted by a cosine ramp-down from 1 to 0 over ``rampdown_iters``.

    The released defaults (tau_r 0.5, thresholds 0.97 / 0.8 with 21 classes)
    cannot be met: max q <= 1 / (1 + (C - 1) e^{-2 / tau_r}) = 0.73. Both are
    explicit here and a warning names the reachable maximum when a threshold
    exceeds it.

    Args:
        mode (str): 'cross' or 'mix'.
        tau_r (float): temperature of the representation labels.
        rep_thresh (float): confidence a representation label needs.
        proto_thresh (float): logit confidence of unlabelled pixels that update prototypes.
        rampdown_iters (int): iterations over which the contrast weight falls to 0.
        Others: see :class:`WeakToStrongSegmentor`.
    """

    def __init__(self, mode='cross', tau_r=0.1, rep_thresh=0.8, proto_thresh=0.7,
                 rampdown_iters=1000, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f'CSS mode must be one of {MODES}, got {mode!r}')
        self.mode, self.tau_r = mode, tau_r
        self.rep_thresh, self.proto_thresh = rep_thresh, proto_thresh
        self.rampdown_iters = rampdown_iters
        self.head_index, self.contrast_loss = self._find_prototype_head()
        reachable = max_prototype_confidence(self.num_classes, tau_r)
        if rep_thresh >= reachable:
            warnings.warn(f'CSS: rep_thresh={rep_thresh} cannot be reached: with tau_r={tau_r} '
                          f'and {self.num_classes} classes the representation confidence is '
                          f'at most {reachable:.3f}, so no representation label is used')

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
        """Cosine ramp-down of the contrast weight, 1 at iteration 0 and 0 from ``rampdown_iters``."""
        step = MessageHub.get_current_instance().get_info('iter', 0)
        return 0.5 * (1 + math.cos(math.pi * min(step / self.rampdown_iters, 1.0)))

    def labeled_losses(self, feats, data_samples, **contrast):
        return super().labeled_losses(feats, data_samples, contrast_weight=self.rampdown(),
                                      **contrast)

    @torch.no_grad()
    def update_prototypes(self, labeled_feats, data_samples, weak_feats, probs):
        head = self._head(self.student)
        confidence, labels = probs.max(1)
        pseudo = labels.masked_fill(confidence < self.proto_thresh, head.ignore_index)
        gt = torch.stack([s.gt_sem_seg.data[0] for s in data_samples])
        embeddings, maps = [], []
        for feats, label_map in ((labeled_feats, gt), (weak_feats, pseudo)):
            z = head.forward(feats)
            maps.append(downsample_labels(label_map, z.shape[2:], head.label_downsample,
                                          head.num_classes, head.ignore_index, head.purity))
            embeddings.append(z.permute(0, 2, 3, 1).flatten(0, 2))
        self.contrast_loss.prototypes.update(torch.cat(embeddings),
                                             torch.cat([m.flatten() for m in maps]))

    @torch.no_grad()
    def representation_probs(self, teacher_feats, size):
        """(B, C, H, W) ``softmax_c(cos(z, P_c) / tau_r)`` of the teacher's embeddings."""
        z = self._head(self.teacher.module).forward(teacher_feats)
        state = self.contrast_loss.prototypes
        logits = torch.einsum('bdhw,cd->bchw', z, state.prototypes) / self.tau_r
        logits = logits.masked_fill(~state.initialized[None, :, None, None], float('-inf'))
        return resize(logits.softmax(1), size=size, mode='bilinear', align_corners=False)

    def pseudo_targets(self, probs, valid, teacher_feats, student_feats, labeled_feats,
                       data_samples):
        self.update_prototypes(labeled_feats, data_samples, student_feats, probs)
        confidence, labels = probs.max(1)
        rep_confidence, rep_labels = self.representation_probs(teacher_feats,
                                                               probs.shape[2:]).max(1)
        logit_keep = (confidence >= self.conf_thresh) & valid
        rep_keep = (rep_confidence >= self.rep_thresh) & valid
        if self.mode == 'cross':
            return (rep_labels, rep_keep), (labels, logit_keep)
        agree = logit_keep & rep_keep & (labels == rep_labels)
        return (labels, agree), (labels, agree)
