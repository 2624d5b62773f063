"""PixPro's pixel projector and pixel propagation module."""
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmseg.registry import MODELS

from densecl.ops import pixel_propagation


@MODELS.register_module()
class PixProNeck(BaseModule):
    """conv1x1(C, hid) + BN + ReLU + conv1x1(hid, out) on one backbone map (Xie et al., CVPR 2021).

    As released: both convolutions have a bias and PyTorch's default
    initialisation. Its BN becomes SyncBN under DDP through the configs'
    ``sync_bn``, as the release converts encoder and projector.

    Args:
        in_channels (int): channels C of the projected backbone map.
        hid_channels (int): hidden width (4096 in PixPro).
        out_channels (int): embedding dimension (256 in PixPro).
        in_index (int): which backbone output to project (the last by default).
        norm_cfg (dict): normalisation of the hidden layer.
    """

    def __init__(self, in_channels, hid_channels=4096, out_channels=256, in_index=-1,
                 norm_cfg=dict(type='BN'), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_index = in_index
        self.projector = nn.Sequential(
            nn.Conv2d(in_channels, hid_channels, 1),
            build_norm_layer(norm_cfg, hid_channels)[1],
            nn.ReLU(inplace=True),
            nn.Conv2d(hid_channels, out_channels, 1))

    def forward(self, inputs):
        """(B, out, H, W) pixel embeddings, not normalised."""
        return self.projector(inputs[self.in_index])


@MODELS.register_module()
class PixelPropagation(BaseModule):
    """PixPro's pixel propagation module (PPM), applied on the query side only.

    ``y_i = sum_j max(cos(x_i, x_j), 0)^gamma g(x_j)`` within each image,
    with the value transform ``g`` a conv1x1 whose output is L2-normalised
    before propagation; the output is L2-normalised. The similarity sum
    runs through :func:`densecl.ops.pixel_propagation` (fused on GPU).

    Args:
        channels (int): embedding dimension (256 in PixPro).
        gamma (float): sharpness exponent (2 in PixPro).
    """

    def __init__(self, channels=256, gamma=2.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.gamma = gamma
        self.value_transform = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        value = F.normalize(self.value_transform(x), dim=1)
        return F.normalize(pixel_propagation(x, value, self.gamma), dim=1)
