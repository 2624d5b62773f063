"""DeepLabV2's classifier: the sum of parallel dilated 3x3 convolutions straight to the classes.

mmseg 1.x has DeepLabV3's ASPP head (pooling branch, BN, a fused 3x3 conv, then the classifier)
but not V2's, which UDA papers keep as their CNN baseline (DAFormer's and SePiCo's DeepLabV2
R101: dilations 6, 12, 18, 24, no normalisation, no dropout, weights N(0, 0.01)).
"""
from mmseg.models.decode_heads.aspp_head import ASPPModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class DeepLabV2Head(BaseDecodeHead):
    """ASPP branches of ``num_classes`` outputs each, summed (Chen et al., TPAMI 2018).

    Args:
        dilations (tuple[int]): dilation of each branch (1 gives a 1x1 conv).
        **kwargs: of :class:`BaseDecodeHead`, except ``channels``, ``dropout_ratio`` and
            ``norm_cfg``: the branches are the classifier.
    """

    def __init__(self, dilations=(6, 12, 18, 24),
                 init_cfg=dict(type='Normal', std=0.01, override=dict(name='aspp_modules')),
                 **kwargs):
        fixed = sorted({'channels', 'dropout_ratio', 'norm_cfg'} & set(kwargs))
        if fixed:
            raise ValueError(f'DeepLabV2Head: {fixed} cannot be set; its dilated branches '
                             f'output the classes directly, unnormalised, without dropout')
        super().__init__(channels=1, dropout_ratio=0, norm_cfg=None, init_cfg=init_cfg, **kwargs)
        del self.conv_seg
        self.aspp_modules = ASPPModule(dilations, self.in_channels, self.out_channels,
                                       conv_cfg=self.conv_cfg, norm_cfg=None, act_cfg=None)

    def _forward_feature(self, inputs):
        """The classifier's input: the selected backbone map (SePiCo contrasts it)."""
        return self._transform_inputs(inputs)

    def cls_seg(self, feat):
        """Class logits of a feature map: the sum of the dilated branches."""
        return sum(self.aspp_modules(feat))

    def forward(self, inputs):
        """Class logits at the input feature's resolution."""
        return self.cls_seg(self._forward_feature(inputs))
