# FCN (Long et al., CVPR 2015) on a dilated ResNet-18 V1c, output stride 8.
# BN instead of mmseg's SyncBN so that single-process CPU runs work; add
# `--cfg-options sync_bn=torch` to convert to SyncBN for multi-GPU training.
# The backbone starts from ResNet-18 V1c pretrained on procedural ImageNet, as the
# papers start from ImageNet: `make pretrained` writes it (tools/pretrain_backbone.py).
# From random weights: `--cfg-options model.backbone.init_cfg=None` (the benchmark
# tools: `--init scratch`); another file: the environment variable DENSECL_PRETRAINED
# (the tests point it at a checkpoint they make).
pretrained_backbone = '{{$DENSECL_PRETRAINED:data/pretrained/resnet18_v1c_procedural.pth}}'
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained_backbone, prefix='backbone.')),
    decode_head=dict(
        type='FCNHead',
        in_channels=512,
        in_index=3,
        channels=128,
        num_convs=2,
        concat_input=True,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=256,
        in_index=2,
        channels=64,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
