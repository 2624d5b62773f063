"""RPL's residual block on an mmseg DeepLabV3+ head."""
import copy

import torch
import torch.nn as nn
from mmseg.models.utils import resize


class RPLResidualBlock(nn.Module):
    """Residual pattern block of RPL (Liu et al., "Residual Pattern Learning for Pixel-wise
    Out-of-Distribution Detection in Semantic Segmentation", ICCV 2023), as released.

    A trainable copy of the frozen head's ASPP (image pooling, dilated
    branches) and bottleneck, its output upsampled to the low-level
    resolution (``hidden``, what CoroCL projects), then a 1x1 convolution
    without bias, Kaiming-normal initialised and trained from scratch, to the
    width of the final layers' input (``channels + c1_channels``). Its output
    is added to that input (:meth:`SepASPPFeatureHead.fuse`), so the frozen
    final layers and classifier see the residual pattern. :meth:`copy_head`
    sets the copies to the head's weights, after the closed-set weights are
    loaded.

    Args:
        head (SepASPPFeatureHead): the closed-set decode head.
    """

    def __init__(self, head):
        super().__init__()
        self.align_corners = head.align_corners
        self.image_pool = copy.deepcopy(head.image_pool)
        self.aspp_modules = copy.deepcopy(head.aspp_modules)
        self.bottleneck = copy.deepcopy(head.bottleneck)
        self.hidden_channels = head.channels
        self.out_channels = head.sep_bottleneck[0].depthwise_conv.conv.in_channels
        self.final = nn.Conv2d(head.channels, self.out_channels, 1, bias=False)
        nn.init.kaiming_normal_(self.final.weight)

    def copy_head(self, head):
        """Set the ASPP and bottleneck copies to the head's current weights."""
        for name in ('image_pool', 'aspp_modules', 'bottleneck'):
            getattr(self, name).load_state_dict(getattr(head, name).state_dict())

    def forward(self, x, size):
        """The (B, out_channels) residual at ``size`` of the ASPP input ``x``, and ``hidden``."""
        pooled = resize(self.image_pool(x), size=x.shape[2:], mode='bilinear',
                        align_corners=self.align_corners)
        hidden = self.bottleneck(torch.cat([pooled, *self.aspp_modules(x)], dim=1))
        hidden = resize(hidden, size=size, mode='bilinear', align_corners=self.align_corners)
        return self.final(hidden), hidden
