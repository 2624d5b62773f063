# RPL (Liu et al., "Residual Pattern Learning for Pixel-wise Out-of-Distribution
# Detection in Semantic Segmentation", ICCV 2023) as released, on the closed-set
# DeepLabV3+ R18: the closed-set model is frozen; the residual block (a copy of
# its ASPP and bottleneck plus a random 1x1 conv, RPLResidualBlock) is trained
# for 500 iterations on train images with pasted toyscenes outliers (label
# 254), its output added to the input of the frozen final layers. As released:
# Adam without weight decay, the random conv at 10x the learning rate, poly
# decay. Train the closed-set config first:
#   python tools/train.py configs/rpl/deeplabv3plus_r18-d16_closed-set_1k_toyscenes-128x128.py
# Val mIoU (segmentation from the frozen logits) must equal the closed-set one;
# tools/test.py reports AUROC / AP / FPR95 of the energy map on ood_val.
_base_ = ['./deeplabv3plus_r18-d16_closed-set_1k_toyscenes-128x128.py']
closed_set_checkpoint = \
    'work_dirs/deeplabv3plus_r18-d16_closed-set_1k_toyscenes-128x128/iter_1000.pth'
outlier_label = 254
model = dict(
    type='RPLEncoderDecoder',
    closed_set_checkpoint=closed_set_checkpoint,
    outlier_index=outlier_label,
    score='energy',
    blur=dict(kernel_size=7, sigma=1.0),
    decode_head=dict(type='SepASPPFeatureHead'),
    auxiliary_head=None,
    loss_inlier=dict(type='RPLInlierLoss', entropy_weight=1.0),
    loss_outlier=dict(type='OutlierEnergyLoss', margin=0.0, loss_weight=0.05))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(128, 128), cat_max_ratio=0.9),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PasteOutliers', outlier_root='data/toyscenes/outliers', prob=1.0,
         scale=(0.2, 0.5), outlier_label=outlier_label),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='Adam', lr=0.001, weight_decay=0.0),
    paramwise_cfg=dict(custom_keys={'residual_block.final': dict(lr_mult=10.0)}))
max_iters = 500
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
