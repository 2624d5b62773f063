"""SePiCo (Xie et al., "SePiCo: Semantic-Guided Pixel Contrast for Domain Adaptive Semantic
Segmentation", TPAMI 2023) on DACS self-training (Tranheden et al., WACV 2021)."""
import warnings

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmseg.registry import MODELS
from mmseg.utils import add_prefix

from ..heads import SepASPPFeatureHead, SePiCoProjectionHead
from ..utils import (ClassStatistics, batch_class_mix_masks, color_jitter, dacs_blur,
                     downsample_labels)
from .semi_supervised_segmentor import SemiSupervisedSegmentor

CONTRAST_FEATURES = ('backbone', 'decoder')


def decoder_features(head, feats):
    """The features ``head`` classifies (``cls_seg``'s input) for backbone ``feats``."""
    features = head._forward_feature(feats)
    if isinstance(head, SepASPPFeatureHead):
        features = head.decode(features, feats)
    return features


@MODELS.register_module()
class SePiCoSegmentor(SemiSupervisedSegmentor):
    """Domain-adaptive self-training with semantic-guided pixel contrast, as released.

    The labelled images are the source domain, the unlabelled ones (their
    plain ``weak`` view) the target domain. Per step, as SePiCo's release
    (and DAFormer's, which it builds on):

    1. the EMA teacher (``MomentumAnnealingEMA`` with ``gamma=1``: decay
       ``min(1 - 1/(t+1), alpha)``; mmengine's momentum is the student's
       weight, so ``alpha=0.999`` is ``teacher_momentum=0.001``) labels the
       plain target. It stays in train mode with dropout off
       (``teacher_mode='train'``, ``teacher_buffers='own'``): its BN layers
       normalise each batch with that batch's statistics. The pseudo-label
       weight is the fraction of pixels whose confidence reaches
       ``pseudo_threshold``, set to 0 in the ``pseudo_weight_ignore_top`` /
       ``_bottom`` rows (DAFormer's pseudo-label crop);
    2. with a contrast: the teacher's projections of the plain source
       (backbone features, ``contrast_features='backbone'``), with the source
       labels downscaled by majority (``purity`` 0.75), update the
       :class:`ClassStatistics` (every step, from the first);
    3. the colour jitter and blur of this step (DACS's strong transform, its
       coin flips drawn once per step) are applied to the source for the
       student: its CE, and from ``contrast_start_iter`` its contrast; the
       contrast of the jittered target against pseudo-labels, pixels of
       weight 0 ignored;
    4. with ``self_training``: ClassMix of the plain source and plain target
       (classes drawn from the source batch's label values, as released),
       then the strong transform, and the student's CE on it against mixed
       labels, weighted 1 on source pixels and the pseudo-label weight on
       target pixels.

    Without ``self_training`` and contrast it is the source-only baseline
    (the target images are ignored). The contrast needs a
    :class:`SePiCoProjectionHead` as the student's ``auxiliary_head``; with
    ``contrast_features='decoder'`` it projects the decoder features (the
    classifier's input) instead of the backbone's.

    Args:
        contrast_loss (dict, optional): :class:`SePiCoContrastLoss` config.
        self_training (bool): add the mixed self-training CE.
        pseudo_threshold (float): confidence counted by the pseudo-label weight.
        pseudo_weight_ignore_top (int): top rows of weight 0.
        pseudo_weight_ignore_bottom (int): bottom rows of weight 0.
        purity (float): majority share a feature cell needs to keep its label.
        bank_length (int): centroids kept per class (BankCL).
        contrast_start_iter (int): first iteration with contrast losses.
        contrast_features (str): 'backbone' or 'decoder', what is projected.
        strong_aug (dict, optional): ``jitter_strength`` (0.2), ``jitter_prob``
            (0.8: the releases' ``color_jitter_probability=0.2`` is the chance
            to skip it) and ``blur_prob`` (0.5); None: plain images throughout.
        teacher_momentum (float): mmengine EMA momentum ``1 - alpha``.
        Others: see :class:`SemiSupervisedSegmentor`.
    """

    def __init__(self, contrast_loss=None, self_training=True, pseudo_threshold=0.968,
                 pseudo_weight_ignore_top=0, pseudo_weight_ignore_bottom=0, purity=0.75,
                 bank_length=200, contrast_start_iter=0, contrast_features='backbone',
                 strong_aug=dict(jitter_strength=0.2, jitter_prob=0.8, blur_prob=0.5),
                 teacher_momentum=0.001, teacher_ema=dict(type='MomentumAnnealingEMA', gamma=1),
                 teacher_mode='train', teacher_buffers='own', **kwargs):
        super().__init__(teacher_momentum=teacher_momentum, teacher_ema=teacher_ema,
                         teacher_mode=teacher_mode, teacher_buffers=teacher_buffers, **kwargs)
        if contrast_features not in CONTRAST_FEATURES:
            raise ValueError(f'contrast_features must be one of {CONTRAST_FEATURES}, '
                             f'got {contrast_features!r}')
        self.self_training = self_training
        self.pseudo_threshold = pseudo_threshold
        self.ignore_rows = (pseudo_weight_ignore_top, pseudo_weight_ignore_bottom)
        self.purity = purity
        self.contrast_start_iter = contrast_start_iter
        self.contrast_features = contrast_features
        self.strong_aug = strong_aug
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

    def draw_augmentation(self):
        """This step's coin flips of the strong transform: (jitter, blur)."""
        if self.strong_aug is None:
            return False, False
        flips = torch.rand(2).tolist()
        return flips[0] < self.strong_aug['jitter_prob'], flips[1] < self.strong_aug['blur_prob']

    def augment(self, images, flips):
        """Normalised ``images`` after the colour jitter and blur that ``flips`` switch on."""
        jitter, blur = flips
        if jitter:
            pre = self.data_preprocessor
            rgb = (images * pre.std + pre.mean) / 255
            images = (color_jitter(rgb, self.strong_aug['jitter_strength']) * 255 - pre.mean) \
                / pre.std
        return dacs_blur(images) if blur else images

    def projection_input(self, model, feats, decoded=None):
        """What ``model``'s projection head reads: its backbone ``feats`` or [decoder features]."""
        if self.contrast_features == 'backbone':
            return feats
        return [decoder_features(model.decode_head, feats) if decoded is None else decoded]

    def embed(self, model, inputs, label_maps):
        """(N, D) projections of ``model`` for its head ``inputs``, with (N,) downscaled labels."""
        z = model.auxiliary_head(inputs)
        labels = downsample_labels(label_maps, z.shape[2:], 'majority', self.num_classes,
                                   self.ignore_index, self.purity)
        return z.permute(0, 2, 3, 1).flatten(0, 2), labels.flatten()

    @torch.no_grad()
    def update_statistics(self, inputs, labels):
        teacher = self.teacher.module
        feats = teacher.extract_feat(inputs)
        self.statistics.update(*self.embed(teacher, self.projection_input(teacher, feats), labels))

    @torch.no_grad()
    def pseudo_labels(self, weak, valid):
        """Teacher labels of the target weak view and their (B, H, W) DACS weight map."""
        teacher = self.teacher.module
        probs = self.decode(teacher, teacher.extract_feat(weak), weak.shape[2:]).softmax(1)
        confidence, labels = probs.max(1)
        fraction = ((confidence >= self.pseudo_threshold) & valid).sum() / valid.sum().clamp_min(1)
        weight = fraction.expand_as(confidence).clone()
        top, bottom = self.ignore_rows
        weight[:, :top] = 0
        weight[:, weight.shape[1] - bottom:] = 0
        return labels.masked_fill(~valid, self.ignore_index), weight

    def contrast(self, inputs, label_maps):
        features, labels = self.embed(self.student, inputs, label_maps)
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
        target = unlabeled['weak']
        contrast = self.contrast_active()
        if contrast or self.self_training:
            pseudo, pseudo_weight = self.pseudo_labels(target, unlabeled['valid'])
        if self.contrast_loss is not None:
            self.update_statistics(inputs, source_labels)
        flips = self.draw_augmentation()
        student, head = self.student, self.student.decode_head
        feats = student.extract_feat(self.augment(inputs, flips))
        decoded = decoder_features(head, feats)
        losses = add_prefix(head.loss_by_feat(head.cls_seg(decoded), data_samples), 'decode')
        if not (contrast or self.self_training):
            return losses
        losses['pseudo_weight'] = pseudo_weight.max()
        if contrast:
            name = self.contrast_loss.loss_name
            losses[f'src.{name}'] = self.contrast(
                self.projection_input(student, feats, decoded), source_labels)
            target_feats = student.extract_feat(self.augment(target, flips))
            losses[f'tgt.{name}'] = self.contrast(
                self.projection_input(student, target_feats),
                pseudo.masked_fill(pseudo_weight == 0, self.ignore_index))
        if self.self_training:
            losses['mix.loss_ce'] = self.mixed_loss(inputs, source_labels, target, pseudo,
                                                    pseudo_weight, flips)
        return losses

    def mixed_loss(self, source, source_labels, target, pseudo, pseudo_weight, flips):
        """Weighted CE of the student on ClassMix-ed plain images, then strongly augmented."""
        pairs = torch.arange(target.shape[0], device=target.device) % source.shape[0]
        source, source_labels = source[pairs], source_labels[pairs]
        mask = batch_class_mix_masks(source_labels)
        images = self.augment(torch.where(mask[:, None], source, target), flips)
        labels = torch.where(mask, source_labels, pseudo)
        weight = torch.where(mask, torch.ones_like(pseudo_weight), pseudo_weight)
        logits = self.decode(self.student, self.student.extract_feat(images), images.shape[2:])
        ce = F.cross_entropy(logits, labels, ignore_index=self.ignore_index, reduction='none')
        return (ce * weight).mean()
