"""RPL (Liu et al., "Residual Pattern Learning for Pixel-wise Out-of-Distribution
Detection in Semantic Segmentation", ICCV 2023), with optional CoroCL."""
import os.path as osp

import torch
from mmengine.runner.checkpoint import _load_checkpoint
from mmengine.structures import PixelData
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import add_prefix

from ...engine import state_dict_mismatch
from ..heads import ResidualASPP
from .anomaly_encoder_decoder import AnomalyEncoderDecoder

TRAINABLE = ('residual_block', 'contrast_head')


@MODELS.register_module()
class RPLEncoderDecoder(AnomalyEncoderDecoder):
    """A frozen closed-set DeepLabV3+ plus RPL's residual block; only the block trains.

    The residual (:class:`ResidualASPP` on the backbone features) is added to
    the frozen decoder's input: the frozen classifier gives ``out1`` without
    and ``out2`` with it. Non-outlier labelled pixels train ``loss_inlier``
    (``out2`` keeps ``out1``'s decisions and entropy), pixels labelled
    ``outlier_index`` (pasted by ``PasteOutliers``) train ``loss_outlier``
    (low logsumexp). With ``contrast_head`` (CoroCL: a ``ContrastHead``
    with ``num_classes=2``) the decoder features of ``out2`` are projected
    and contrasted with inlier (0) / outlier (1) labels; the labels also
    serve as its "prediction", so ``sampling='hard'`` draws at random, as
    the released CoroCL does. Segmentation comes from ``out1`` (closed-set
    mIoU unchanged), the anomaly map from ``out2`` (energy by default).

    Args:
        closed_set_checkpoint (str | None): closed-set weights loaded by
            :meth:`init_weights` (every frozen key must be there); the
            residual's ASPP branches start as copies of the loaded ones.
        outlier_index (int): label of outlier pixels.
        loss_inlier (dict): config of the inlier loss.
        loss_outlier (dict): config of the outlier loss.
        contrast_head (dict | None): CoroCL projection and loss.
        score (str): anomaly score of ``out2``.
        **kwargs: :class:`AnomalyEncoderDecoder` args; ``decode_head`` must
            be a ``SepASPPFeatureHead``.
    """

    def __init__(self, closed_set_checkpoint=None, outlier_index=254,
                 loss_inlier=dict(type='RPLInlierLoss'),
                 loss_outlier=dict(type='OutlierEnergyLoss'), contrast_head=None,
                 score='energy', **kwargs):
        super().__init__(score=score, **kwargs)
        if not hasattr(self.decode_head, 'decode'):
            raise TypeError(f"{type(self).__name__} needs decode_head type='SepASPPFeatureHead' "
                            f'(DeepLabV3+), got {type(self.decode_head).__name__}')
        self.closed_set_checkpoint = closed_set_checkpoint
        self.outlier_index = outlier_index
        self.residual_block = ResidualASPP(self.decode_head)
        self.loss_inlier = MODELS.build(loss_inlier)
        self.loss_outlier = MODELS.build(loss_outlier)
        self.contrast_head = MODELS.build(contrast_head) if contrast_head else None
        for module in self.closed_set_modules():
            module.requires_grad_(False)

    def closed_set_modules(self):
        """The frozen modules: everything but the residual block and the CoroCL head."""
        return [module for name, module in self.named_children() if name not in TRAINABLE]

    def train(self, mode=True):
        """Train mode for the residual block and CoroCL head only; BN of the rest stays frozen."""
        super().train(mode)
        for module in self.closed_set_modules():
            module.eval()
        return self

    def init_weights(self):
        super().init_weights()
        if self.closed_set_checkpoint:
            self._load_closed_set(self.closed_set_checkpoint)
        self.residual_block.copy_aspp(self.decode_head)

    def _load_closed_set(self, path):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{type(self).__name__}: closed-set checkpoint {path} not '
                                    'found; train the closed-set config first')
        checkpoint = _load_checkpoint(path, map_location='cpu')
        state = checkpoint.get('state_dict', checkpoint)
        frozen = {key: value for key, value in self.state_dict().items()
                  if key.split('.')[0] not in TRAINABLE}
        missing, _, reshaped = state_dict_mismatch(frozen, state)
        if missing or reshaped:
            raise ValueError(f'{path} does not fit the closed-set model: {len(missing)} keys '
                             f'missing {missing[:3]}, {len(reshaped)} of another shape '
                             f'{reshaped[:3]}; is it a checkpoint of the same config?')
        self.load_state_dict({key: state[key] for key in frozen}, strict=False)

    def forward_pair(self, x):
        """Closed-set logits ``out1``, residual logits ``out2`` and ``out2``'s decoder features."""
        head = self.decode_head
        with torch.no_grad():
            decoder_input = head._forward_feature(x)
            out1 = head.cls_seg(head.decode(decoder_input, x))
        residual = self.residual_block(head._transform_inputs(x))
        features = head.decode(decoder_input + residual, x)
        return out1, head.cls_seg(features), features

    def score_logits(self, inputs, batch_img_metas):
        out1, out2, _ = self.forward_pair(self.extract_feat(inputs))
        return (self.decode_head.predict_by_feat(out1, batch_img_metas),
                self.decode_head.predict_by_feat(out2, batch_img_metas))

    def loss(self, inputs, data_samples):
        with torch.no_grad():
            x = self.extract_feat(inputs)
        out1, out2, features = self.forward_pair(x)
        labels = torch.stack([sample.gt_sem_seg.data[0] for sample in data_samples])
        out1, out2 = (resize(out, labels.shape[1:], mode='bilinear',
                             align_corners=self.align_corners) for out in (out1, out2))
        outliers = labels == self.outlier_index
        inliers = ~outliers & (labels != self.decode_head.ignore_index)
        losses = {self.loss_inlier.loss_name: self.loss_inlier(out2, out1, inliers),
                  self.loss_outlier.loss_name: self.loss_outlier(out2, outliers)}
        if self.contrast_head is not None:
            binary = torch.full_like(labels, self.decode_head.ignore_index)
            binary[inliers], binary[outliers] = 0, 1
            one_hot = torch.stack([binary == 0, binary == 1], dim=1).float()
            samples = [SegDataSample(gt_sem_seg=PixelData(data=b[None]),
                                     seg_logits=PixelData(data=h)) for b, h in zip(binary, one_hot)]
            losses.update(add_prefix(
                self.contrast_head.loss([features], samples, self.train_cfg), 'corocl'))
        return losses
