# HRNetV2-W48 + ContrastiveSeg without memory on Cityscapes (Wang et al., ICCV 2021; README
# 80.18 mIoU against the baseline's 79.27). The release (scripts/cityscapes/hrnet/
# job_run_h_48_d_4_contrast.sh -> run_h_48_d_4_contrast.sh: main_contrastive.py,
# configs/cityscapes/H_48_D_4.json, model hrnet_w48_contrast = HRNet_W48_CONTRAST, loss
# contrast_ce_loss in lib/loss/loss_contrast.py) is the baseline's segmenter and class-weighted
# cross-entropy plus a "convmlp" projection of the same 720-channel concatenation (conv1x1
# 720->720, BN, ReLU, conv1x1 -> 256, L2-normalised; lib/models/modules/projection.py). The
# pixel contrast (paper eq. 2) samples at most 1,024 anchors per batch, 100 per (image, class)
# present on more than 100 cells of the stride-4 grid, half hard (predicted class != label)
# and half easy by the segmenter's argmax, contrasts them with each other at T 0.1, scales by
# T / T_base with T_base 0.07, and is added with weight 0.1 from iteration 5,000
# (contrast.warmup_iters); labels are brought to the embedding by nearest downsampling.
# Here: ContrastHead (the projection, 720 -> 720 -> 256) as the auxiliary head,
# PixelContrastLoss(sampling='hard') with the released values and start_iter=5000, and
# PredictionSharingEncoderDecoder to hand the decode head's logits to the hard sampler.
# Departures: those of the baseline (fcn_hr48_4xb2-40k_cityscapes-512x1024.py: SyncBN via
# --cfg-options sync_bn=torch, mmseg's ImageNet weights and normalisation, mmseg's HRNet fuse
# resize, conv_seg bias, densecl's Cityscapes augmentation, validation every 4k), and:
# - the projection's first conv has no bias (BN follows it, so nothing is lost);
# - during the warm-up the released loss is computed and multiplied by 0; ContrastHead
#   returns 0 without computing it (the same gradients).
_base_ = './fcn_hr48_4xb2-40k_cityscapes-512x1024.py'
model = dict(
    type='PredictionSharingEncoderDecoder',
    auxiliary_head=dict(
        type='ContrastHead',
        in_channels=[48, 96, 192, 384],
        in_index=(0, 1, 2, 3),
        input_transform='resize_concat',
        channels=720,
        embed_channels=256,
        num_classes=19,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=True,
        start_iter=5000,
        loss_decode=dict(
            type='PixelContrastLoss',
            temperature=0.1,
            base_temperature=0.07,
            loss_weight=0.1,
            sampling='hard',
            max_samples=1024,
            max_views=100)))
