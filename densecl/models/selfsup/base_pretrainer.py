"""The part DenseCL and PixPro share: a query encoder and its momentum copy."""
import torch
import torch.nn as nn
from mmengine.model import BaseModel, ExponentialMovingAverage
from mmseg.registry import MODELS


class BaseMomentumPretrainer(BaseModel):
    """Backbone + neck trained on two views, with a momentum (EMA) key encoder.

    The key encoder is mmengine's :class:`ExponentialMovingAverage` of
    backbone and neck. Its ``momentum`` follows mmengine's convention,
    ``key = (1 - momentum) * key + momentum * query``, so MoCo's decay
    0.999 is ``momentum=0.001``. It is updated once per training step,
    before the keys are computed, as in DenseCL and PixPro; its parameters
    and the queues are in the state dict, so a resumed run continues with
    them. After pretraining, ``tools/extract_backbone.py`` keeps the query
    ``backbone.*`` weights for mmseg segmenters.

    Args:
        backbone (dict): mmseg backbone config (e.g. ResNetV1c).
        neck (dict): projection neck config.
        momentum (float): EMA momentum in mmengine's convention, in (0, 0.5]; a
            larger value is taken for a decay written in the other convention.
        data_preprocessor (dict): usually ``TwoViewDataPreprocessor``.
    """

    def __init__(self, backbone, neck, momentum, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not 0 < momentum <= 0.5:
            raise ValueError(f'momentum is 1 - decay in mmengine\'s EMA convention and must be in '
                             f'(0, 0.5], got {momentum!r}; MoCo decay 0.999 is 0.001')
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.momentum_encoder = ExponentialMovingAverage(self._query_encoder(), momentum)

    def _query_encoder(self):
        """Backbone and neck under the names the momentum encoder uses."""
        return nn.ModuleDict(dict(backbone=self.backbone, neck=self.neck))

    @torch.no_grad()
    def update_momentum_encoder(self):
        """One EMA step towards the query encoder (the first copies it)."""
        self.momentum_encoder.update_parameters(self._query_encoder())

    @torch.no_grad()
    def momentum_encode(self, view):
        """(backbone maps, neck outputs) of the momentum encoder on ``view``."""
        encoder = self.momentum_encoder.module
        feats = encoder.backbone(view)
        return feats, encoder.neck(feats)

    def extract_feat(self, inputs):
        """Backbone maps of the query encoder."""
        return self.backbone(inputs)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        """'loss': the losses of the two views in ``inputs``; 'tensor': backbone maps of
        ``inputs`` (one batch, or the first view of a pair)."""
        if mode == 'loss':
            if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
                raise ValueError(f'{type(self).__name__} trains on two views: inputs must be '
                                 '[view0, view1] (TwoViewDataPreprocessor)')
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs[0] if isinstance(inputs, (list, tuple)) else inputs)
        raise ValueError(f'{type(self).__name__} supports modes "loss" and "tensor", '
                         f'got {mode!r}')

    def loss(self, inputs, data_samples):
        raise NotImplementedError
