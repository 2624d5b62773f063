"""DeepLabV3+ head whose decoder input and decoder features can be reached apart."""
import torch
from mmseg.models.decode_heads import DepthwiseSeparableASPPHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS


@MODELS.register_module()
class SepASPPFeatureHead(DepthwiseSeparableASPPHead):
    """:class:`DepthwiseSeparableASPPHead` (DeepLabV3+, Chen et al., ECCV 2018) in steps.

    mmseg's head runs ASPP, the low-level fusion and the classifier in one
    ``forward``. RPL (Liu et al., ICCV 2023) adds a residual to the input of
    the final layers (the ASPP bottleneck output upsampled and concatenated
    with the low-level features: :meth:`fuse`) and needs the features that
    reach ``cls_seg`` (:meth:`decode`). Same parameters and keys as mmseg's
    head, so its checkpoints load unchanged; ``forward`` gives the same
    logits. Args are those of :class:`DepthwiseSeparableASPPHead`.
    """

    def fuse(self, aspp_output, inputs):
        """Input of the final layers: the ASPP bottleneck output with the low-level features."""
        if self.c1_bottleneck is None:
            return aspp_output
        c1_output = self.c1_bottleneck(inputs[0])
        aspp_output = resize(aspp_output, size=c1_output.shape[2:], mode='bilinear',
                             align_corners=self.align_corners)
        return torch.cat([aspp_output, c1_output], dim=1)

    def decode(self, aspp_output, inputs):
        """Decoder features (``cls_seg``'s input) from the ASPP output and backbone features."""
        return self.sep_bottleneck(self.fuse(aspp_output, inputs))

    def forward(self, inputs):
        return self.cls_seg(self.decode(self._forward_feature(inputs), inputs))
