# FCN (Long et al., CVPR 2015) on a dilated ResNet-50 V1c, output stride 8.
_base_ = './fcn_r18-d8.py'
model = dict(
    backbone=dict(depth=50, init_cfg=None),  # the procedural R18 does not fit: set your own
    decode_head=dict(in_channels=2048, channels=512),
    auxiliary_head=dict(in_channels=1024, channels=256))
