"""SePiCo's projection of decoder features into the contrast space."""
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS


@MODELS.register_module()
class SePiCoProjectionHead(BaseModule):
    """Two 1x1 ConvModules (conv, norm, activation), then L2 normalisation (Xie et al., TPAMI 2023).

    ``in_channels -> in_channels -> channels``, both with norm and
    activation as released (the embeddings are therefore non-negative before
    normalisation). It projects the decoder features (the input of the
    classifier), so :class:`SePiCoSegmentor` calls it; as a student's
    ``auxiliary_head`` it lives in the segmentor's weights and in its EMA
    teacher, and costs nothing at inference.

    Args:
        in_channels (int): channels of the decoder features.
        channels (int): embedding dimension (512 or 256 in SePiCo).
        norm_cfg (dict): normalisation layer.
        act_cfg (dict): activation layer.
    """

    def __init__(self, in_channels, channels=256, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.channels = channels
        self.convs = nn.Sequential(
            ConvModule(in_channels, in_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(in_channels, channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg))

    def forward(self, features):
        """L2-normalised (B, channels, h, w) embeddings of (B, in_channels, h, w) features."""
        return F.normalize(self.convs(features), dim=1)
