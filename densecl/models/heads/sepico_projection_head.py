"""SePiCo's projection of feature maps into the contrast space."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.models.utils import resize
from mmseg.registry import MODELS


@MODELS.register_module()
class SePiCoProjectionHead(BaseModule):
    """Two 1x1 ConvModules (conv, norm, activation), then L2 normalisation (Xie et al., TPAMI 2023).

    It projects the feature maps ``in_index`` selects from its input list:
    the released models project backbone features, the last stage (C5) of
    DeepLab-v2 ResNet-101 or, for DAFormer, all four stages resized to the
    first one's size and concatenated. ``in_channels`` (the selected or
    concatenated channels) ``-> in_channels / len(in_index) -> channels``, both
    layers with norm and activation as released (the embeddings are therefore
    non-negative before normalisation). As a student's ``auxiliary_head`` it
    lives in the segmentor's weights and in its EMA teacher and costs nothing
    at inference; :class:`SePiCoSegmentor` calls it.

    Args:
        in_channels (int): channels of the selected (concatenated) features.
        channels (int): embedding dimension (512 or 256 in SePiCo).
        in_index (int | Sequence[int]): feature map(s) of the input list.
        norm_cfg (dict): normalisation layer.
        act_cfg (dict): activation layer.
        align_corners (bool): of the resize before concatenation.
    """

    def __init__(self, in_channels, channels=256, in_index=-1, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), align_corners=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.channels = channels
        self.in_index = in_index
        self.align_corners = align_corners
        mid_channels = in_channels // len(in_index) if isinstance(in_index, (list, tuple)) \
            else in_channels
        self.convs = nn.Sequential(
            ConvModule(in_channels, mid_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(mid_channels, channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg))

    def select(self, inputs):
        """The map ``in_index`` names, or the maps it names resized to the first and stacked."""
        if not isinstance(self.in_index, (list, tuple)):
            return inputs[self.in_index]
        maps = [inputs[i] for i in self.in_index]
        return torch.cat([maps[0]] + [
            resize(x, size=maps[0].shape[2:], mode='bilinear', align_corners=self.align_corners)
            for x in maps[1:]], dim=1)

    def forward(self, inputs):
        """L2-normalised (B, channels, h, w) embeddings of the selected maps of ``inputs``."""
        return F.normalize(self.convs(self.select(inputs)), dim=1)
