# ResNet-18 V1c at output stride 16, the backbone of the toyscenes segmenters
# (configs/quickstart), so that tools/extract_backbone.py output loads into them.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='TwoViewDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)
backbone = dict(
    type='ResNetV1c',
    depth=18,
    num_stages=4,
    out_indices=(3, ),
    dilations=(1, 1, 1, 2),
    strides=(1, 2, 2, 1),
    norm_cfg=norm_cfg,
    norm_eval=False,
    style='pytorch',
    contract_dilation=True)
