"""RPL (Liu et al., "Residual Pattern Learning for Pixel-wise Out-of-Distribution
Detection in Semantic Segmentation", ICCV 2023), with optional CoroCL."""
import os.path as osp

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.runner.checkpoint import _load_checkpoint
from mmseg.models.utils import resize
from mmseg.registry import MODELS

from ...engine import state_dict_mismatch
from ..heads import RPLResidualBlock
from ..utils import downsample_labels
from .anomaly_encoder_decoder import AnomalyEncoderDecoder

TRAINABLE = ('residual_block', 'corocl_projection')


@MODELS.register_module()
class RPLEncoderDecoder(AnomalyEncoderDecoder):
    """A frozen closed-set DeepLabV3+ plus RPL's residual block; only the block trains.

    The residual (:class:`RPLResidualBlock` on the backbone features) is
    added to the input of the frozen head's final layers: the frozen
    classifier gives ``out1`` without and ``out2`` with it. On scene images
    (not outlier-context ones), non-outlier labelled pixels train
    ``loss_inlier`` (``out2`` keeps ``out1``'s decisions and entropy) and
    pixels labelled ``outlier_index`` (pasted by ``PasteOutliers``) train
    ``loss_outlier`` (low logsumexp). With ``loss_corocl`` (CoroCL, e.g.
    :class:`CoroCLLoss`) one 1x1 convolution (``corocl_projection``, Kaiming
    init, as released) projects the residual block's hidden features, which
    are contrasted as inlier (0) / outlier (1) pixels of scene and context
    images; context images are those whose ``outlier_context`` meta is true
    (``PasteOutliers`` with ``context_prob``). Segmentation comes from
    ``out1`` (closed-set mIoU unchanged), the anomaly map from ``out2``
    (energy by default).

    Args:
        closed_set_checkpoint (str | None): closed-set weights loaded by
            :meth:`init_weights` (every frozen key must be there); the
            residual's ASPP and bottleneck start as copies of the loaded ones.
        outlier_index (int): label of outlier pixels.
        loss_inlier (dict): config of the inlier loss.
        loss_outlier (dict): config of the outlier loss.
        loss_corocl (dict | None): config of the CoroCL loss.
        score (str): anomaly score of ``out2``.
        **kwargs: :class:`AnomalyEncoderDecoder` args; ``decode_head`` must
            be a ``SepASPPFeatureHead``.
    """

    def __init__(self, closed_set_checkpoint=None, outlier_index=254,
                 loss_inlier=dict(type='RPLInlierLoss'),
                 loss_outlier=dict(type='OutlierEnergyLoss'), loss_corocl=None,
                 score='energy', **kwargs):
        super().__init__(score=score, **kwargs)
        if not hasattr(self.decode_head, 'fuse'):
            raise TypeError(f"{type(self).__name__} needs decode_head type='SepASPPFeatureHead' "
                            f'(DeepLabV3+), got {type(self.decode_head).__name__}')
        self.closed_set_checkpoint = closed_set_checkpoint
        self.outlier_index = outlier_index
        self.residual_block = RPLResidualBlock(self.decode_head)
        self.loss_inlier = MODELS.build(loss_inlier)
        self.loss_outlier = MODELS.build(loss_outlier)
        self.loss_corocl = self.corocl_projection = None
        if loss_corocl:
            self.loss_corocl = MODELS.build(loss_corocl)
            width = self.residual_block.out_channels
            self.corocl_projection = nn.Conv2d(self.residual_block.hidden_channels, width, 1)
            nn.init.kaiming_normal_(self.corocl_projection.weight)
            nn.init.zeros_(self.corocl_projection.bias)
        for module in self.closed_set_modules():
            module.requires_grad_(False)

    def closed_set_modules(self):
        """The frozen modules: everything but the residual block and the CoroCL projection."""
        return [module for name, module in self.named_children() if name not in TRAINABLE]

    def train(self, mode=True):
        """Train mode for the residual block and CoroCL projection only; BN of the rest stays
        frozen."""
        super().train(mode)
        for module in self.closed_set_modules():
            module.eval()
        return self

    def init_weights(self):
        super().init_weights()
        if self.closed_set_checkpoint:
            self._load_closed_set(self.closed_set_checkpoint)
        self.residual_block.copy_head(self.decode_head)

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
        """Closed-set logits ``out1``, residual logits ``out2`` and the residual's hidden
        features."""
        head = self.decode_head
        with torch.no_grad():
            decoder_input = head.fuse(head._forward_feature(x), x)
            out1 = head.cls_seg(head.sep_bottleneck(decoder_input))
        residual, hidden = self.residual_block(head._transform_inputs(x),
                                               decoder_input.shape[2:])
        return out1, head.cls_seg(head.sep_bottleneck(decoder_input + residual)), hidden

    def score_logits(self, inputs, batch_img_metas):
        out1, out2, _ = self.forward_pair(self.extract_feat(inputs))
        return (self.decode_head.predict_by_feat(out1, batch_img_metas),
                self.decode_head.predict_by_feat(out2, batch_img_metas))

    def _context_images(self, data_samples, device):
        """(B,) bool: which samples are outlier-context images."""
        flags = [sample.metainfo.get('outlier_context') for sample in data_samples]
        if self.loss_corocl is not None and None in flags:
            raise ValueError(f"{type(self).__name__}: CoroCL needs each sample's "
                             "'outlier_context' (set by PasteOutliers): add it to the "
                             "PackSegInputs meta_keys of the train pipeline")
        return torch.tensor([bool(flag) for flag in flags], device=device)

    def loss(self, inputs, data_samples):
        with torch.no_grad():
            x = self.extract_feat(inputs)
        out1, out2, hidden = self.forward_pair(x)
        labels = torch.stack([sample.gt_sem_seg.data[0] for sample in data_samples])
        context = self._context_images(data_samples, labels.device)
        out1, out2 = (resize(out, labels.shape[1:], mode='bilinear',
                             align_corners=self.align_corners) for out in (out1, out2))
        outliers = labels == self.outlier_index
        inliers = ~outliers & (labels != self.decode_head.ignore_index)
        scene = ~context[:, None, None]
        losses = {self.loss_inlier.loss_name: self.loss_inlier(out2, out1, inliers & scene),
                  self.loss_outlier.loss_name: self.loss_outlier(out2, outliers & scene)}
        if self.loss_corocl is not None:
            embeddings = F.normalize(self.corocl_projection(hidden), dim=1)
            binary = torch.full_like(labels, self.loss_corocl.ignore_index)
            binary[inliers], binary[outliers] = 0, 1
            binary = downsample_labels(binary, embeddings.shape[2:])
            losses[self.loss_corocl.loss_name] = self.loss_corocl(embeddings, binary, context)
        return losses
