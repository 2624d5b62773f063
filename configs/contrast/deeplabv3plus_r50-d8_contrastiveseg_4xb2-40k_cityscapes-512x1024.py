# DeepLabV3+ R50 on Cityscapes with ContrastiveSeg as released with memory (Wang et
# al., ICCV 2021; H_48_D_4_MEM) on the stride-8 backbone features: one hard/easy
# anchor per (image, class) from the decode head's prediction (shared by
# PredictionSharingEncoderDecoder), contrasted with the pixel and segment queues
# only (5,000 entries per class, 10 pixels per class and image), T = T_base = 0.07,
# loss weight 1. 4 GPUs x 2 images (tools/dist_train.sh CONFIG 4 --cfg-options
# sync_bn=torch). The contrast starts after the released warm-up of start_iter
# iterations (the queues fill from the start); set it with
# --cfg-options model.auxiliary_head.1.start_iter=N.
# The projection is the release's "convmlp" on a ResNet's layer4 (DeepLabV3Contrast in
# lib/models/nets/deeplab.py): conv1x1 2048 -> 2048, BN, ReLU, conv1x1 -> 256.
# Departures from the release: the release has no DeepLabV3+ R50 run (its memory run is
# HRNet-W48, fcn_hr48_contrastiveseg-mem_...; its ResNet run is DeepLabV3 R101 without
# memory, deeplabv3_r101-d8_contrastiveseg_...); the segmenter is densecl's DeepLabV3+ with
# mmseg's unweighted cross-entropy (the release weights it by the json's ce_weight) and its
# ResNet-50 V1c weights; schedule_40k's poly ends at 1e-4 (the release: 0); densecl's
# Cityscapes augmentation; the queue departures listed in the HRNet memory config.
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d8.py', '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40k.py'
]
num_classes = 19
crop_size = (512, 1024)
contrast_head = dict(
    type='ContrastHead',
    in_channels=2048,
    in_index=3,
    channels=2048,
    embed_channels=256,
    num_classes=num_classes,
    norm_cfg=dict(type='BN', requires_grad=True),
    start_iter=5000,
    loss_decode=dict(
        type='PixelContrastLoss',
        temperature=0.07,
        base_temperature=0.07,
        loss_weight=1.0,
        sampling='hard',
        max_samples=1024,
        max_views=1,
        memory=dict(num_classes=num_classes, dim=256, length=5000, pixels_per_class=10),
        memory_only=True))
model = dict(
    type='PredictionSharingEncoderDecoder',
    data_preprocessor=dict(size=crop_size),
    pretrained='open-mmlab://resnet50_v1c',
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=[{{_base_.model.auxiliary_head}}, contrast_head])
