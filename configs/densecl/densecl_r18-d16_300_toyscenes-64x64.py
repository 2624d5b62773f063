# DenseCL (Wang et al., CVPR 2021) pretraining of ResNet-18 V1c on toyscenes' unlabeled
# split, 64 x 64 views, 300 iterations at batch 16. Then:
#   python tools/extract_backbone.py work_dirs/<this config>/iter_300.pth r18_densecl.pth
# and fine-tune a segmenter with
#   model.backbone.init_cfg=dict(type='Pretrained', checkpoint='r18_densecl.pth', prefix='backbone.')
_base_ = [
    '../_base_/models/selfsup_r18-d16.py', '../_base_/datasets/toyscenes_unlabeled.py',
    '../_base_/default_runtime.py', '../_base_/schedules/selfsup_300.py'
]
model = dict(
    type='DenseCL',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone={{_base_.backbone}},
    neck=dict(type='DenseCLNeck', in_channels=512, hid_channels=2048, out_channels=128),
    # 65,536 in the paper (ImageNet); toyscenes' unlabeled split has 400 images, and a
    # queue longer than that would hold copies of the query's own image as negatives.
    queue_length=256,
    temperature=0.2,
    loss_lambda=0.5,
    momentum=0.001)  # mmengine EMA convention: decay 0.999
custom_hooks = [
    # fail before training when queue_length is not a multiple of the global batch
    dict(type='QueueLengthCheckHook'),
    # DenseCL's optional warm-up: global loss only for the first iterations
    dict(type='DenseLossWarmupHook', warmup_iters=0),
]
