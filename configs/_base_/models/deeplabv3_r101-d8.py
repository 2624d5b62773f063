# DeepLabV3 (Chen et al., 2017) on a dilated ResNet-101 V1c, output stride 8, as mmseg
# builds it: ASPP (1x1 and 3x3 at rates 12, 24, 36, plus image pooling; 512 channels)
# followed by a 3x3 bottleneck, and the FCN auxiliary head on stage 3 (weight 0.4).
# The FCN R50 base with a deeper backbone and the decode head replaced.
_base_ = './fcn_r50-d8.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(depth=101),
    decode_head=dict(
        _delete_=True,
        type='ASPPHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        dilations=(1, 12, 24, 36),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
