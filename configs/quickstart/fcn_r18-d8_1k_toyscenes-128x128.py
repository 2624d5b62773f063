# Quickstart: FCN on ResNet-18 V1c trained from scratch on toyscenes for 1k
# iterations; about 6 minutes on a 2-core CPU (`make quickstart`).
_base_ = [
    '../_base_/models/fcn_r18-d8.py', '../_base_/datasets/toyscenes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_2k.py'
]
num_classes = 8
model = dict(
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=1000,
         by_epoch=False)
]
train_cfg = dict(max_iters=1000, val_interval=1000)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=1000, max_keep_ckpts=1))
