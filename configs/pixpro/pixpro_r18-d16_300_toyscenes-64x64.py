# PixPro (Xie et al., CVPR 2021) pretraining of ResNet-18 V1c on toyscenes' unlabeled
# split, 64 x 64 views, 300 iterations at batch 16. Extract the backbone with
# tools/extract_backbone.py (see configs/densecl/).
_base_ = [
    '../_base_/models/selfsup_r18-d16.py', '../_base_/datasets/toyscenes_unlabeled.py',
    '../_base_/default_runtime.py', '../_base_/schedules/selfsup_300.py'
]
model = dict(
    type='PixPro',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone={{_base_.backbone}},
    neck=dict(type='PixProNeck', in_channels=512, hid_channels=4096, out_channels=256),
    propagation=dict(type='PixelPropagation', channels=256, gamma=2.0),
    pixpro_weight=1.0,
    pixcontrast_weight=0.0,
    temperature=0.3,
    pos_threshold=0.7,
    crop_coords='pixel_centres',  # as released: x / (W - 1)
    momentum=0.01)  # mmengine EMA convention: decay 0.99, annealed to 1 by the hook
custom_hooks = [dict(type='PixProMomentumHook')]
# As released: under DDP the BN of encoder and projector (query and momentum copies) is
# SyncBN. mmengine converts only when distributed; one process keeps plain BN. SyncBN needs
# GPUs: several CPU processes (gloo) take `--cfg-options sync_bn=None`.
sync_bn = 'torch'
