# RPL + CoroCL (Liu et al., ICCV 2023): RPL plus a contrastive head on the
# residual decoder features, inlier (0) vs outlier (1) pixels, cos / 0.1,
# ContrastiveSeg's loss over ALL labelled pixels (densecl.ops); a quarter of
# the samples are outlier-context images (the outlier crop as the image).
_base_ = ['./deeplabv3plus_r18-d16_rpl_500_toyscenes-128x128.py']
model = dict(
    contrast_head=dict(
        type='ContrastHead',
        in_channels=128,
        in_index=0,
        channels=128,
        embed_channels=64,
        num_classes=2,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='PixelContrastLoss',
            temperature=0.1,
            base_temperature=0.1,
            loss_weight=0.1)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(128, 128), cat_max_ratio=0.9),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PasteOutliers', outlier_root='data/toyscenes/outliers', prob=1.0,
         scale=(0.2, 0.5), outlier_label={{_base_.outlier_label}}, context_prob=0.25),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
