# PixPro (Xie et al., CVPR 2021) pretraining of ResNet-50 on ImageNet-1k train, 400 epochs.
# The release (zdaxie/PixPro: tools/pixpro_base_r50_400ep.sh with main_pretrain.py,
# contrast/option.py, contrast/models/PixPro.py, contrast/data/transform.py, contrast/lars.py,
# contrast/lr_scheduler.py; its README lists 60.2 VOC det AP (R50-C4, 24k iterations,
# transfer/detection/configs/Pascal_VOC_R_50_C4_24k_PixPro.yaml) for this model and 58.8 for
# the 100-epoch one, pixpro_r50_8xb128-lars-coslr-100e_in1k.py):
# - ResNet-50 (torchvision layout, conv weights N(0, 2 / (k^2 out)), BN 1 / 0, last BN of each
#   block zero-initialised), projector conv1x1 2048 -> 4096 (bias), BN, ReLU, conv1x1 -> 256
#   (bias), PyTorch default init; pixel propagation with one conv1x1 (256) value transform,
#   sharpness p 2, similarities clamped at 0 (--pixpro-transform-layer 1, --pixpro-p 2); no
#   instance branch (--pixpro-ins-loss-weight 0). Positives: bin centres closer than 0.7 of the
#   larger bin diagonal (--pixpro-pos-ratio 0.7), crop boxes from first to last pixel centre.
#   Loss symmetric over the two views. Momentum encoder decay 0.99 rising to 1 on a cosine over
#   the run (K = 1,281,167 / 8 / 128 x epochs steps). SyncBN in encoder, projector and their
#   momentum copies.
# - 8 GPUs x 128 images = 1,024, drop_last (DistributedSampler, 160,146 images per GPU).
#   BYOL augmentation (--aug BYOL --crop 0.08), two different pipelines: both views
#   RandomResizedCrop 224 scale (0.08, 1), flip p 0.5, ColorJitter(0.4, 0.4, 0.2, 0.1) p 0.8,
#   RandomGrayscale p 0.2, GaussianBlur sigma U(0.1, 2) with p 1.0 on view 1 and p 0.1 on view 2,
#   Solarize (threshold 128) p 0.2 on view 2 only; ImageNet mean / std.
# - LARS wrapping SGD (momentum 0.9, trust coefficient 1e-3, eps 1e-8): weight decay 1e-5 and the
#   trust ratio only for parameters of more than one dimension, biases and BN parameters
#   neither; lr = base 1.0 x 1,024 / 256 = 4.0; 5 warm-up epochs from lr / 100 linearly
#   (GradualWarmupScheduler, multiplier 100), then cosine to 1e-6 over the other epochs, both
#   per iteration; apex AMP O1; checkpoint every 10 epochs.
# Schedule in iterations: 160,146 images per GPU // 128 = 1,251 iterations per epoch (=
# 1,281,167 // 1,024); 400 epochs = 500,400 iterations, warm-up 5 x 1,251 = 6,255.
#
#   tools/dist_train.sh configs/pixpro/pixpro_r50_8xb128-lars-coslr-400e_in1k.py 8 --amp
#   python tools/extract_backbone.py \
#       work_dirs/pixpro_r50_8xb128-lars-coslr-400e_in1k/iter_500400.pth \
#       data/weights/pixpro_r50_400ep.pth
#
# Departures, and why:
# - Mixed precision only with tools/train.py's `--amp` (mmengine's AmpOptimWrapper, dynamic loss
#   scale; the release: apex O1): the config stays fp32 so that it runs on CPUs.
# - The momentum encoder reaches decay 1 at iteration 500,400 (PixProMomentumHook follows
#   max_iters); the release's K is int(1,281,167 / 8 / 128 x 400) = 500,456, so its last decay
#   stays a hair below 1.
# - Colour jitter, grayscale, blur and solarize: mmseg and mmcv have no torchvision-style
#   ColorJitter, GaussianBlur or Solarize, and TwoViewCrop runs one view_pipeline on both views.
#   So TwoViewCrop only crops and flips; KeyMapper wrappers then split its two views into
#   `img1` / `img2`, run each view's own pipeline (densecl's StrongViews with one view and no
#   CutMix box: albumentations ColorJitter, ToGray and GaussianBlur, seeded from numpy so that
#   a resumed run repeats them; on view 2 then mmcv's RandomApply p 0.2 of albumentations'
#   Solarize at 128, through mmseg's Albu) and join them again. albumentations' blur takes its
#   kernel size from sigma where PIL approximates the Gaussian by box blurs.
# - TwoViewCrop resizes crops with cv2 bilinear (mmcv.imresize), which does not antialias when
#   shrinking; torchvision resizes the PIL crop with antialiasing.
# - SyncBN as released through `sync_bn = 'torch'`, which mmengine applies only under DDP: one
#   process keeps BN (several CPU processes: `--cfg-options sync_bn=None`).
# - Images: the official train folders are walked (ImageNetList); the release reads its
#   train.zip with train_map.txt. Same images.
# - Batch: run on 8 GPUs for 8 x 128. On another GPU count the batch changes; `--cfg-options
#   auto_scale_lr.enable=True` scales the lr linearly (base 1,024) but not the iterations.
_base_ = ['../_base_/datasets/imagenet_selfsup.py', '../_base_/default_runtime.py']

# 1,281,167 ImageNet-1k train images // 1,024 per iteration (drop_last) = 1,251 iterations/epoch
iters_per_epoch = 1281167 // (8 * 128)
max_iters = 400 * iters_per_epoch  # 500,400
warmup_iters = 5 * iters_per_epoch  # 6,255

model = dict(
    type='PixPro',
    data_preprocessor=dict(
        type='TwoViewDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    # mmseg's ResNet (not V1c), torchvision stem and key names; its default init is the
    # release's (Kaiming normal fan_out, BN 1 / 0, zero-initialised last BN of each block)
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(3, ),
        strides=(1, 2, 2, 2),
        dilations=(1, 1, 1, 1),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch'),
    neck=dict(type='PixProNeck', in_channels=2048, hid_channels=4096, out_channels=256),
    propagation=dict(type='PixelPropagation', channels=256, gamma=2.0),
    pixpro_weight=1.0,
    pixcontrast_weight=0.0,
    pos_threshold=0.7,
    crop_coords='pixel_centres',  # as released: x / (W - 1)
    momentum=0.01)  # mmengine EMA convention (1 - decay): decay 0.99, annealed to 1 by the hook
custom_hooks = [dict(type='PixProMomentumHook')]
sync_bn = 'torch'

# BYOL's two photometric pipelines (contrast/data/transform.py, aug_type 'BYOL')
byol_colour_jitter = dict(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, p=0.8)
byol_view1 = dict(
    type='KeyMapper',
    mapping=dict(img='img1'),
    remapping=dict(img_strong=['img1']),
    auto_remap=False,
    transforms=[
        dict(
            type='StrongViews',
            num_views=1,
            color_jitter=byol_colour_jitter,
            grayscale_prob=0.2,
            blur_prob=1.0,
            blur_sigma=(0.1, 2.0),
            cutmix_prob=0.0)
    ])
byol_view2 = dict(
    type='KeyMapper',
    mapping=dict(img='img2'),
    remapping=dict(img='img2'),
    auto_remap=False,
    transforms=[
        dict(
            type='KeyMapper',
            mapping=dict(img='img'),
            remapping=dict(img_strong=['img']),
            auto_remap=False,
            transforms=[
                dict(
                    type='StrongViews',
                    num_views=1,
                    color_jitter=byol_colour_jitter,
                    grayscale_prob=0.2,
                    blur_prob=0.1,
                    blur_sigma=(0.1, 2.0),
                    cutmix_prob=0.0)
            ]),
        dict(
            type='RandomApply',
            prob=0.2,
            # PIL's ImageOps.solarize inverts values >= 128; albumentations' threshold is a
            # fraction of 255, so 0.5 inverts the same values
            transforms=[
                dict(
                    type='Albu',
                    transforms=[dict(type='Solarize', threshold_range=(0.5, 0.5), p=1.0)])
            ])
    ])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TwoViewCrop', size=224, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), flip_prob=0.5),
    # img: [view 1, view 2] -> img1, img2
    dict(
        type='KeyMapper',
        mapping=dict(img='img'),
        remapping=dict(img=['img1', 'img2']),
        auto_remap=False),
    byol_view1,
    byol_view2,
    # img1, img2 -> img: [view 1, view 2]
    dict(
        type='KeyMapper',
        mapping=dict(img=['img1', 'img2']),
        remapping=dict(img='img'),
        auto_remap=False),
    dict(type='PackTwoViewInputs')
]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    # lr = base 1.0 x 1,024 / 256; LARS leaves 1-d parameters out of decay and trust ratio,
    # as the release's add_weight_decay groups them
    optimizer=dict(
        type='LARS',
        lr=4.0,
        momentum=0.9,
        weight_decay=1e-5,
        trust_coef=1e-3,
        eps=1e-8,
        exclude_1d=True))
param_scheduler = [
    # GradualWarmupScheduler(multiplier=100): lr / 100 at iteration 0, lr at warmup_iters
    dict(
        type='LinearLR',
        start_factor=0.01,
        end_factor=1.0,
        by_epoch=False,
        begin=0,
        end=warmup_iters),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-6,
        by_epoch=False,
        begin=warmup_iters,
        end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
auto_scale_lr = dict(enable=False, base_batch_size=1024)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # every 10 epochs, as released (--save-freq 10)
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10 * iters_per_epoch),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    iter_seed=dict(type='IterSeedHook'))
