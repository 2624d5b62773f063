# DeepLabV3 R101-D8 + ContrastiveSeg without memory on Cityscapes (Wang et al., ICCV 2021;
# README 77.67 mIoU, its DeepLabV3 baseline 72.75 "does not produce the expected performance").
# The release (scripts/cityscapes/deeplab/job_run_r_101_d_8_deeplabv3_contrast.sh ->
# run_r_101_d_8_deeplabv3_contrast_train.sh: main_contrastive.py, configs/cityscapes/
# R_101_D_8.json, backbone deepbase_resnet101_dilated8, model deeplab_v3_contrast =
# DeepLabV3Contrast in lib/models/nets/deeplab.py, head DeepLabHead in
# lib/models/modules/decoder_block.py, loss contrast_auxce_loss in lib/loss/loss_contrast.py):
# dilated ResNet-101 at stride 8 (layer3 dilation 2, layer4 4, multi_grid 1 1 1); ASPP on
# layer4 (1x1 and 3x3 at 12, 24, 36, image pooling, 512 channels, conv3x3 + BN + ReLU), then
# conv3x3 512->512 + BN, conv1x1 -> 19, no dropout; auxiliary conv3x3 1024->256, BN, ReLU,
# conv1x1 -> 19 on layer3, weight 0.4 (network.loss_weights), no dropout; both cross-entropies
# weighted by the json's 19 class weights (its OHEM entries are not used by this loss); the
# "convmlp" projection of layer4 (conv1x1 2048->2048, BN, ReLU, conv1x1 -> 256, L2) with the
# contrast of the HRNet run: 1,024 anchors at most, 100 per (image, class), hard/easy by the
# ASPP logits' argmax, T 0.1, T_base 0.07, weight 0.1 from iteration 5,000. BATCH_SIZE=8 over 4
# GPUs (2 each), crop 1024 x 512, 40k iterations, SGD lr 0.01, momentum 0.9, wd 5e-4, poly 0.9
# to 0, torch SyncBN, resizes with align_corners=True, single-scale whole-image test.
# Here: mmseg's DeepLabV3 R101-D8 (configs/_base_/models/deeplabv3_r101-d8.py) without dropout,
# with the class weights, align_corners=True, ContrastHead (2048 -> 2048 -> 256) on layer4 with
# PixelContrastLoss(sampling='hard') and PredictionSharingEncoderDecoder.
# Departures, and why:
# - SyncBN only with `tools/dist_train.sh CONFIG 4 --cfg-options sync_bn=torch` (BN here).
# - Backbone and weights: ResNet-101 V1c from open-mmlab://resnet101_v1c (the name densecl
#   resolves offline) with mmseg's RGB mean/std; the release's deep-base stem is wider (conv3x3
#   64, 64, 128 vs 32, 32, 64), its max pool uses ceil_mode, and its resnet101-imagenet.pth
#   expects BGR images minus the BGR mean with std 1 (R_101_D_8.json normalize).
# - Decode head: mmseg's ASPPHead classifies the ASPP output with a conv1x1; the release's
#   extra conv3x3 512->512 + BN before it (no activation between them) has no ASPPHead option.
# - Initialisation of the new layers: mmseg's defaults (the release: kaiming normal, zero bias).
# - The projection's first conv has no bias (BN follows); the released loss during the
#   warm-up is computed and multiplied by 0, ContrastHead returns 0 (same gradients).
# - Augmentation: densecl's Cityscapes pipeline (scale 0.5-2 at fixed aspect, crop with
#   cat_max_ratio 0.75, flip, PhotoMetricDistortion), not the release's (scale 0.5-2 with
#   aspect 0.9-1.1, crop, flip, brightness shift in [-10, 10]): mmseg has neither transform.
# - Validation every 4k iterations (the release: every 1k, README links the best checkpoint).
_base_ = [
    '../_base_/models/deeplabv3_r101-d8.py', '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40k_contrastiveseg.py'
]
num_classes = 19
crop_size = (512, 1024)
norm_cfg = dict(type='BN', requires_grad=True)
# R_101_D_8.json loss.params.ce_weight
class_weight = [
    0.8373, 0.9180, 0.8660, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786, 1.0023, 0.9539,
    0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529, 1.0507
]
model = dict(
    type='PredictionSharingEncoderDecoder',
    data_preprocessor=dict(size=crop_size),
    pretrained='open-mmlab://resnet101_v1c',
    decode_head=dict(
        num_classes=num_classes,
        dropout_ratio=0,
        align_corners=True,
        # torch's weighted CE, as the release's loss (mmseg 1.2.2's class_weight path fails on
        # void pixels)
        loss_decode=dict(_delete_=True, type='ClassWeightedCrossEntropyLoss',
                         class_weight=class_weight)),
    auxiliary_head=[
        dict(
            type='FCNHead',
            in_channels=1024,
            in_index=2,
            channels=256,
            kernel_size=3,
            num_convs=1,
            concat_input=False,
            dropout_ratio=0,
            num_classes=num_classes,
            norm_cfg=norm_cfg,
            align_corners=True,
            loss_decode=dict(type='ClassWeightedCrossEntropyLoss', loss_weight=0.4,
                             class_weight=class_weight)),
        dict(
            type='ContrastHead',
            in_channels=2048,
            in_index=3,
            channels=2048,
            embed_channels=256,
            num_classes=num_classes,
            norm_cfg=norm_cfg,
            align_corners=True,
            start_iter=5000,
            loss_decode=dict(
                type='PixelContrastLoss',
                temperature=0.1,
                base_temperature=0.07,
                loss_weight=0.1,
                sampling='hard',
                max_samples=1024,
                max_views=100))
    ])
