"""DenseCL's projection neck: a global and a dense branch on the last feature map."""
import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.registry import MODELS


@MODELS.register_module()
class DenseCLNeck(BaseModule):
    """Global and dense projections of DenseCL (Wang et al., CVPR 2021).

    Global branch: average pool, Linear(C, hid), ReLU, Linear(hid, out).
    Dense branch: conv1x1(C, hid), ReLU, conv1x1(hid, out), no BN, as released.

    Args:
        in_channels (int): channels C of the last backbone map.
        hid_channels (int): hidden width (2048 in DenseCL).
        out_channels (int): embedding dimension (128 in DenseCL).
        in_index (int): which backbone output to project (the last by default).

    Returns (forward):
        tuple[Tensor, Tensor, Tensor]: global (B, out), dense (B, out, H, W)
        and the dense output average-pooled (B, out); not normalised.
    """

    def __init__(self, in_channels, hid_channels=2048, out_channels=128, in_index=-1,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_index = in_index
        self.global_mlp = nn.Sequential(
            nn.Linear(in_channels, hid_channels), nn.ReLU(inplace=True),
            nn.Linear(hid_channels, out_channels))
        self.dense_mlp = nn.Sequential(
            nn.Conv2d(in_channels, hid_channels, 1), nn.ReLU(inplace=True),
            nn.Conv2d(hid_channels, out_channels, 1))

    def forward(self, inputs):
        x = inputs[self.in_index]
        global_out = self.global_mlp(x.mean((2, 3)))
        dense = self.dense_mlp(x)
        return global_out, dense, dense.mean((2, 3))
