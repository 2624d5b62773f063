"""RPL's residual block: a trainable copy of a frozen ASPP plus a 1x1 projection."""
import copy

import torch
import torch.nn as nn
from mmseg.models.utils import resize


class ResidualASPP(nn.Module):
    """Residual pattern block of RPL (Liu et al., "Residual Pattern Learning for Pixel-wise
    Out-of-Distribution Detection in Semantic Segmentation", ICCV 2023).

    A copy of the ASPP branches (image pooling and the dilated convolutions)
    of an mmseg ``ASPPHead`` (e.g. DeepLabV3+'s), concatenated and projected
    by a 1x1 convolution without bias to the head's ``channels``: the
    residual added to the frozen decoder's input. :meth:`copy_aspp` reloads
    the branches from the head, after the closed-set weights are loaded.

    Args:
        head (ASPPHead): the closed-set decode head whose ASPP is copied.
    """

    def __init__(self, head):
        super().__init__()
        self.align_corners = head.align_corners
        self.image_pool = copy.deepcopy(head.image_pool)
        self.aspp_modules = copy.deepcopy(head.aspp_modules)
        branches = len(head.aspp_modules) + 1
        self.projection = nn.Conv2d(branches * head.channels, head.channels, 1, bias=False)

    def copy_aspp(self, head):
        """Set the branches to the head's current weights."""
        self.image_pool.load_state_dict(head.image_pool.state_dict())
        self.aspp_modules.load_state_dict(head.aspp_modules.state_dict())

    def forward(self, x):
        """The (B, channels, h, w) residual of the ASPP input ``x``."""
        pooled = resize(self.image_pool(x), size=x.shape[2:], mode='bilinear',
                        align_corners=self.align_corners)
        return self.projection(torch.cat([pooled, *self.aspp_modules(x)], dim=1))
