# HRNetV2-W48 baseline of ContrastiveSeg (Wang et al., ICCV 2021) on Cityscapes train -> val.
# The release (tfzhou/ContrastiveSeg: scripts/cityscapes/hrnet/run_h_48_d_4.sh with
# configs/cityscapes/H_48_D_4.json; model HRNet_W48 in lib/models/nets/hrnet.py; README 79.27
# mIoU) resizes the four branches to stride 4 (bilinear, align_corners=True), concatenates them
# (48 + 96 + 192 + 384 = 720 channels) and classifies with conv3x3 720->720, BN, ReLU,
# Dropout2d(0.1), conv1x1 -> 19: here FCNHead with kernel_size=3, num_convs=1,
# concat_input=False, dropout_ratio=0.1. Loss fs_ce_loss: one cross-entropy on the logits
# upsampled to the labels, weighted by the json's 19 class weights (ce_weight; the json's
# OHEM and aux-loss entries are not used by this loss). BATCH_SIZE=8 over --gpu 0 1 2 3 (the
# release's loader divides it by the world size): 4 GPUs x 2 images. Crop 1024 x 512, 40k
# iterations, SGD lr 0.01, momentum 0.9, weight decay 5e-4, poly 0.9 to 0, torch SyncBN;
# single-scale whole-image test at 2048 x 1024.
# Departures, and why:
# - SyncBN only with `tools/dist_train.sh CONFIG 4 --cfg-options sync_bn=torch` (BN here, so
#   that single-process and CPU runs work, as every densecl config).
# - ImageNet start: mmseg's open-mmlab://msra/hrnetv2_w48 with mmseg's RGB mean/std (the name
#   densecl resolves offline). The release loads its own hrnetv2_w48_imagenet_pretrained.pth
#   and feeds cv2's BGR image normalised with the RGB-order ImageNet mean/std (input_mode BGR).
# - mmseg's HRNet upsamples inside its fuse layers with align_corners=False (the release's
#   backbone: True); mmseg's HRNet has no option for it. The head's resizes use True as released.
# - conv_seg has a bias (the release's last conv1x1 has none); the 3x3 conv has none (BN follows).
# - Augmentation: densecl's Cityscapes pipeline (configs/_base_/datasets/cityscapes.py: scale
#   0.5-2 of 2048 x 1024 at fixed aspect, crop with cat_max_ratio 0.75, flip,
#   PhotoMetricDistortion), not the release's (scale 0.5-2 with aspect 0.9-1.1, crop, flip,
#   brightness shift in [-10, 10] on every image): mmseg has no aspect-jittered resize or
#   brightness-only transform, and all densecl Cityscapes rows share one pipeline.
# - Validation every 4k iterations (the release: every 1k, and its README links the checkpoint
#   of the best validation, `*_max_performance.pth`).
# The model is written here, not in configs/_base_/models/: HRNet predicts at stride 4 and has
# no auxiliary head, which tests/test_configs.py's base-model check does not expect.
_base_ = [
    '../_base_/datasets/cityscapes.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k_contrastiveseg.py'
]
num_classes = 19
crop_size = (512, 1024)
norm_cfg = dict(type='BN', requires_grad=True)
# H_48_D_4.json loss.params.ce_weight (the same list in H_48_D_4_MEM.json and R_101_D_8.json)
class_weight = [
    0.8373, 0.9180, 0.8660, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786, 1.0023, 0.9539,
    0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529, 1.0507
]
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    pretrained='open-mmlab://msra/hrnetv2_w48',
    backbone=dict(
        type='HRNet',
        norm_cfg=norm_cfg,
        norm_eval=False,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4, ),
                        num_channels=(64, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4),
                        num_channels=(48, 96)),
            stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                        num_channels=(48, 96, 192)),
            stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                        num_channels=(48, 96, 192, 384)))),
    decode_head=dict(
        type='FCNHead',
        in_channels=[48, 96, 192, 384],
        in_index=(0, 1, 2, 3),
        input_transform='resize_concat',
        channels=720,
        kernel_size=3,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=True,
        # torch's weighted CE, as the release's FSCELoss (mmseg 1.2.2's class_weight path fails
        # on void pixels)
        loss_decode=dict(type='ClassWeightedCrossEntropyLoss', class_weight=class_weight)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
