"""Projection head for pixel contrast, as an auxiliary head of any mmseg segmenter."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.logging import MessageHub
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS

from ..utils import downsample_labels


@MODELS.register_module()
class ContrastHead(BaseDecodeHead):
    """Pixel embeddings and their contrastive loss (Wang et al., ICCV 2021).

    ContrastiveSeg's "convmlp" projection (conv1x1 ``in_channels -> channels``,
    norm, activation, conv1x1 ``channels -> embed_channels``, L2
    normalisation) over the features chosen by ``in_index`` /
    ``input_transform`` like any mmseg head; labels are brought to the
    embedding size and ``loss_decode`` (e.g. ``PixelContrastLoss``,
    ``PixelSupConLoss``) returns ``loss_contrast``. As an ``auxiliary_head``
    of ``EncoderDecoder`` it needs no new segmentor and costs nothing at
    inference; it has no classifier. Losses with ``sampling='hard'`` also get
    the decode head's prediction from ``PredictionSharingEncoderDecoder``.

    Args:
        embed_channels (int): embedding dimension (256 in ContrastiveSeg).
        label_downsample (str): 'nearest' (as released) or 'majority'.
        purity (float): 'majority' only: cells whose majority class covers
            less than this fraction of the cell are ignored.
        start_iter (int): the loss is 0 before this training iteration (the
            released configs warm up the segmenter first); memory banks are
            filled from the start.
        loss_decode (dict | list[dict]): the contrastive loss(es).
    """

    def __init__(self, embed_channels=256, label_downsample='nearest', purity=0.5, start_iter=0,
                 loss_decode=dict(type='PixelContrastLoss', loss_weight=0.1),
                 dropout_ratio=0, init_cfg=None, **kwargs):
        super().__init__(loss_decode=loss_decode, dropout_ratio=dropout_ratio,
                         init_cfg=init_cfg, **kwargs)
        del self.conv_seg
        self.embed_channels = embed_channels
        self.label_downsample = label_downsample
        self.purity = purity
        self.start_iter = start_iter
        self.projection = nn.Sequential(
            ConvModule(self.in_channels, self.channels, 1, conv_cfg=self.conv_cfg,
                       norm_cfg=self.norm_cfg, act_cfg=self.act_cfg),
            nn.Conv2d(self.channels, embed_channels, 1))
        for loss in self.contrast_losses:
            self._check_memory(loss)

    @property
    def contrast_losses(self):
        return self.loss_decode if isinstance(self.loss_decode, nn.ModuleList) \
            else [self.loss_decode]

    def _check_memory(self, loss):
        memory = getattr(loss, 'memory', None)
        if memory is None:
            return
        if memory.num_classes != self.num_classes:
            raise ValueError(f'{type(self).__name__}: the memory bank of {loss.loss_name} has '
                             f'{memory.num_classes} classes but the head has num_classes='
                             f'{self.num_classes}')
        if memory.dim != self.embed_channels:
            raise ValueError(f'{type(self).__name__}: the memory bank of {loss.loss_name} has '
                             f'dim {memory.dim} but the head has embed_channels='
                             f'{self.embed_channels}')

    def project(self, inputs):
        """Raw (B, embed_channels, h, w) projections of the selected inputs."""
        x = self._transform_inputs(inputs)
        if x.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__}: in_channels={self.in_channels} but its '
                             f'input (in_index={self.in_index}) has {x.shape[1]} channels')
        return self.projection(x)

    def forward(self, inputs):
        """L2-normalised (B, embed_channels, h, w) embeddings."""
        return F.normalize(self.project(inputs), dim=1)

    def loss(self, inputs, batch_data_samples, train_cfg):
        embeddings = self.forward(inputs)
        return self.loss_by_feat(embeddings, batch_data_samples)

    def loss_by_feat(self, embeddings, batch_data_samples):
        """``{loss_name: loss}`` of each contrastive loss on the embeddings."""
        size = embeddings.shape[2:]
        labels = downsample_labels(
            self._stack_batch_gt(batch_data_samples)[:, 0], size, self.label_downsample,
            self.num_classes, self.ignore_index, self.purity)
        predictions = self._shared_predictions(batch_data_samples, size)
        warming_up = MessageHub.get_current_instance().get_info('iter', 0) < self.start_iter
        losses = {}
        for loss in self.contrast_losses:
            if warming_up:
                loss.update_memory(embeddings.detach(), labels)
                value = embeddings.sum() * 0
            else:
                value = loss(embeddings, labels, predictions)
            losses[loss.loss_name] = losses.get(loss.loss_name, 0) + value
        return losses

    @staticmethod
    def _shared_predictions(batch_data_samples, size):
        """The decode head's predicted classes at ``size``, when the segmenter shared them."""
        if not all('seg_logits' in sample for sample in batch_data_samples):
            return None
        classes = [sample.seg_logits.data.argmax(0, keepdim=True).float()
                   for sample in batch_data_samples]
        return F.interpolate(torch.stack(classes), size, mode='nearest')[:, 0].long()

    def predict(self, inputs, batch_img_metas, test_cfg):
        raise NotImplementedError(f'{type(self).__name__} gives embeddings, not segmentation '
                                  'logits: use it as an auxiliary_head')
