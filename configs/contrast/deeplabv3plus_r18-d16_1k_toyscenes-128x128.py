# Baseline of the pixel-contrast benchmark: DeepLabV3+ (Chen et al., ECCV 2018)
# on ResNet-18 V1c at output stride 16, from scratch on toyscenes, with the
# quickstart's AdamW schedule. Its stride-4 low-level branch keeps the small
# shapes that cap the quickstart FCN's 8 x 8 feature map.
_base_ = [
    '../_base_/models/deeplabv3plus_r18-d8.py', '../_base_/datasets/toyscenes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_2k.py'
]
num_classes = 8
crop_size = (128, 128)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(dilations=(1, 1, 1, 2), strides=(1, 2, 2, 1)),
    decode_head=dict(dilations=(1, 6, 12, 18), num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=0.001, weight_decay=0.01))
max_iters = 1000
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
