"""DeepLabV3+ head whose decoder input and decoder features can be reached apart."""
import torch
from mmseg.models.decode_heads import DepthwiseSeparableASPPHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS


@MODELS.register_module()
class SepASPPFeatureHead(DepthwiseSeparableASPPHead):
    """:class:`DepthwiseSeparableASPPHead` (DeepLabV3+, Chen et al., ECCV 2018) in two steps.

    mmseg's head runs ASPP, the low-level fusion and the classifier in one
    ``forward``. RPL (Liu et al., ICCV 2023) adds a residual to the decoder's
    input (the ASPP bottleneck output, :meth:`_forward_feature` of
    ``ASPPHead``) and needs the features that reach ``cls_seg``:
    :meth:`decode` gives them. Same parameters and keys as mmseg's head, so its
    checkpoints load unchanged; ``forward`` gives the same logits. Args are
    those of :class:`DepthwiseSeparableASPPHead`.
    """

    def decode(self, decoder_input, inputs):
        """Decoder features (``cls_seg``'s input) from the ASPP output and backbone features."""
        output = decoder_input
        if self.c1_bottleneck is not None:
            c1_output = self.c1_bottleneck(inputs[0])
            output = resize(output, size=c1_output.shape[2:], mode='bilinear',
                            align_corners=self.align_corners)
            output = torch.cat([output, c1_output], dim=1)
        return self.sep_bottleneck(output)

    def forward(self, inputs):
        return self.cls_seg(self.decode(self._forward_feature(inputs), inputs))
