"""SePiCo (Xie et al., "SePiCo: Semantic-Guided Pixel Contrast for Domain Adaptive Semantic
Segmentation", TPAMI 2023) on DACS self-training (Tranheden et al., WACV 2021)."""
import warnings

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmseg.registry import MODELS
from mmseg.utils import add_prefix

from ..heads import SepASPPFeatureHead, SePiCoProjectionHead
from ..utils import ClassStatistics, class_mix_masks, downsample_labels
from .semi_supervised_segmentor import SemiSupervisedSegmentor


def decoder_features(head, feats):
    """The features ``head`` classifies (``cls_seg``'s input) for backbone ``feats``."""
    features = head._forward_feature(feats)
    if isinstance(head, SepASPPFeatureHead):
        features = head.decode(features, feats)
    return features


@MODELS.register_module()
class SePiCoSegmentor(SemiSupervisedSegmentor):
    """Domain-adaptive self-training with semantic-guided pixel contrast.

    The labelled images are the source domain, the unlabelled ones (weak
    view for the teacher, first strong view for the student) the target
    domain. Per step:

    1. the EMA teacher (``MomentumAnnealingEMA`` with ``gamma=1``: momentum
       ``max(1 - alpha, 1 / (t + 1))``, i.e. decay ``min(1 - 1/(t+1), alpha)``
       of the release; mmengine's momentum is the student's weight, so
       ``alpha=0.999`` is ``teacher_momentum=0.001``) labels the target weak
       view; the DACS weight of the pseudo-labels is the fraction of image
       pixels whose confidence reaches ``pseudo_threshold``;
    2. with a contrast: the teacher's projected decoder features of the
       source images, with the source labels downscaled by majority
       (``purity`` 0.75), update the :class:`ClassStatistics` (from the first
       step, like the release);
    3. the student's CE on the source; from ``contrast_start_iter`` the
       contrast on the source (labels) and on the target strong view (all
       pseudo-labels, as released);
    4. with ``self_training``: ClassMix of source and target strong view
       (half the classes of each source image pasted over the target image
       of the same batch position) and the student's CE on the mixed image
       against mixed labels, weighted 1 on source pixels and the pseudo-label
       weight on target pixels.

    Without ``self_training`` and contrast it is the source-only baseline
    (the target images are ignored). The contrast needs a
    :class:`SePiCoProjectionHead` as the student's ``auxiliary_head``.

    Args:
        contrast_loss (dict, optional): :class:`SePiCoContrastLoss` config.
        self_training (bool): add the mixed self-training CE.
        pseudo_threshold (float): confidence counted by the pseudo-label weight.
        purity (float): majority share a feature cell needs to keep its label.
        bank_length (int): centroids kept per class (BankCL).
        contrast_start_iter (int): first iteration with contrast losses.
        teacher_momentum (float): mmengine EMA momentum ``1 - alpha``.
        Others: see :class:`SemiSupervisedSegmentor`.
    """

    def __init__(self, contrast_loss=None, self_training=True, pseudo_threshold=0.968,
                 purity=0.75, bank_length=200, contrast_start_iter=0, teacher_momentum=0.001,
                 teacher_ema=dict(type='MomentumAnnealingEMA', gamma=1), **kwargs):
        super().__init__(teacher_momentum=teacher_momentum, teacher_ema=teacher_ema, **kwargs)
        self.self_training = self_training
        self.pseudo_threshold = pseudo_threshold
        self.purity = purity
        self.contrast_start_iter = contrast_start_iter
        self._warned_start = False
        self.contrast_loss = None
        if contrast_loss is not None:
            projector = self.student.auxiliary_head if self.student.with_auxiliary_head else None
            if not isinstance(projector, SePiCoProjectionHead):
                raise ValueError('SePiCoSegmentor with a contrast_loss needs '
                                 "auxiliary_head=dict(type='SePiCoProjectionHead', ...) in its "
                                 f'segmentor, got {type(projector).__name__}')
            self.contrast_loss = MODELS.build(contrast_loss)
            self.statistics = ClassStatistics(self.num_classes, projector.channels, bank_length,
                                              self.student.decode_head.ignore_index)

    @property
    def ignore_index(self):
        return self.student.decode_head.ignore_index

    def contrast_active(self):
        hub = MessageHub.get_current_instance()
        max_iters = hub.get_info('max_iters')  # set by the Runner's RuntimeInfoHook
        if self.contrast_loss is not None and max_iters is not None and \
                self.contrast_start_iter >= max_iters and not self._warned_start:
            warnings.warn(f'SePiCoSegmentor: contrast_start_iter={self.contrast_start_iter} >= '
                          f'max_iters={max_iters}: the contrast loss is never used in this run')
            self._warned_start = True
        return self.contrast_loss is not None and hub.get_info('iter', 0) >= \
            self.contrast_start_iter

    def embed(self, model, decoded, label_maps):
        """(N, D) projections of ``model`` for decoder features, with (N,) downscaled labels."""
        z = model.auxiliary_head(decoded)
        labels = downsample_labels(label_maps, z.shape[2:], 'majority', self.num_classes,
                                   self.ignore_index, self.purity)
        return z.permute(0, 2, 3, 1).flatten(0, 2), labels.flatten()

    @torch.no_grad()
    def update_statistics(self, inputs, labels):
        teacher = self.teacher.module
        decoded = decoder_features(teacher.decode_head, teacher.extract_feat(inputs))
        self.statistics.update(*self.embed(teacher, decoded, labels))

    @torch.no_grad()
    def pseudo_labels(self, weak, valid):
        """Teacher labels of the target weak view, and their DACS weight (a scalar)."""
        teacher = self.teacher.module
        probs = self.decode(teacher, teacher.extract_feat(weak), weak.shape[2:]).softmax(1)
        confidence, labels = probs.max(1)
        weight = ((confidence >= self.pseudo_threshold) & valid).sum() / valid.sum().clamp_min(1)
        return labels.masked_fill(~valid, self.ignore_index), weight

    def contrast(self, decoded, label_maps):
        features, labels = self.embed(self.student, decoded, label_maps)
        return self.contrast_loss(features, labels, self.statistics)

    def labeled_losses(self, feats, data_samples):
        """Steps without target images: the source CE, for the source-only baseline."""
        if self.self_training or self.contrast_loss is not None:
            raise ValueError('SePiCoSegmentor with self_training or a contrast_loss needs target '
                             'images in every batch: train on a DomainAdaptationDataset with '
                             'SemiSupervisedSampler')
        return super().labeled_losses(feats, data_samples)

    def semi_losses(self, inputs, data_samples, unlabeled):
        source_labels = torch.stack([s.gt_sem_seg.data[0] for s in data_samples]).long()
        contrast = self.contrast_active()
        if self.contrast_loss is not None:
            self.update_statistics(inputs, source_labels)
        head = self.student.decode_head
        decoded = decoder_features(head, self.student.extract_feat(inputs))
        losses = add_prefix(head.loss_by_feat(head.cls_seg(decoded), data_samples), 'decode')
        if not (contrast or self.self_training):
            return losses
        target = unlabeled['strong'][0]
        pseudo, pseudo_weight = self.pseudo_labels(unlabeled['weak'], unlabeled['valid'])
        losses['pseudo_weight'] = pseudo_weight
        if contrast:
            name = self.contrast_loss.loss_name
            losses[f'src.{name}'] = self.contrast(decoded, source_labels)
            target_decoded = decoder_features(head, self.student.extract_feat(target))
            losses[f'tgt.{name}'] = self.contrast(target_decoded, pseudo)
        if self.self_training:
            losses['mix.loss_ce'] = self.mixed_loss(inputs, source_labels, target, pseudo,
                                                    pseudo_weight)
        return losses

    def mixed_loss(self, source, source_labels, target, pseudo, pseudo_weight):
        """Weighted CE of the student on ClassMix-ed source and target images."""
        pairs = torch.arange(target.shape[0], device=target.device) % source.shape[0]
        source, source_labels = source[pairs], source_labels[pairs]
        mask = class_mix_masks(source_labels, self.ignore_index)
        images = torch.where(mask[:, None], source, target)
        labels = torch.where(mask, source_labels, pseudo)
        weight = torch.where(mask, torch.ones_like(pseudo_weight), pseudo_weight)
        logits = self.decode(self.student, self.student.extract_feat(images), images.shape[2:])
        ce = F.cross_entropy(logits, labels, ignore_index=self.ignore_index, reduction='none')
        return (ce * weight).mean()
