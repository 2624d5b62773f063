# DeepLabV3+ (Chen et al., ECCV 2018) on a dilated ResNet-50 V1c, stride 8.
_base_ = './deeplabv3plus_r18-d8.py'
model = dict(
    backbone=dict(depth=50, init_cfg=None),  # the procedural R18 does not fit: set your own
    decode_head=dict(
        in_channels=2048, channels=512, c1_in_channels=256, c1_channels=48),
    auxiliary_head=dict(in_channels=1024, channels=256))
