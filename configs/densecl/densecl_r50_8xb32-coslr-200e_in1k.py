# DenseCL (Wang et al., CVPR 2021) pretraining of ResNet-50 on ImageNet-1k train, 200 epochs.
# The release (WXinlong/DenseCL, on OpenSelfSup: configs/selfsup/densecl/
# densecl_imagenet_200ep.py, openselfsup/models/densecl.py and necks.py; its README lists
# 69.4 VOC seg mIoU and 58.7 VOC det AP for this model, means of 5 trials; the segmentation
# transfer is configs/selfsup_transfer/fcn_r50-d8_4xb4-20k_voc12aug-512x512_from-densecl.py):
# - ResNet-50 (torchvision layout, BN, stage-4 output), DenseCLNeck 2048 -> 2048 -> 128 (global
#   fc-ReLU-fc, dense conv1x1-ReLU-conv1x1), two queues of 65,536 keys from random unit vectors,
#   momentum encoder decay 0.999, InfoNCE temperature 0.2, loss 0.5 global + 0.5 dense
#   (loss_lambda 0.5), dense positives by argmax over backbone features.
# - 8 GPUs x 32 images = 256, drop_last. Each view: RandomResizedCrop 224 scale (0.2, 1),
#   ColorJitter(0.4, 0.4, 0.4, 0.1) p 0.8, RandomGrayscale p 0.2, GaussianBlur sigma U(0.1, 2)
#   p 0.5, horizontal flip p 0.5, ImageNet mean / std.
# - SGD lr 0.03, momentum 0.9, weight decay 1e-4 on every parameter, cosine to 0 over the 200
#   epochs (mmcv's CosineAnnealing, stepped per epoch); checkpoint every 10 epochs.
# - The COCO rows of its README (800 epochs) use densecl_coco_800ep.py: the same model with
#   lr 0.3 on COCO train2017 (not written here).
# Schedule in iterations: 1,281,167 images // (8 x 32) = 5,004 iterations per epoch (drop_last
# rounds down), x 200 epochs = 1,000,800 iterations.
#
#   tools/dist_train.sh configs/densecl/densecl_r50_8xb32-coslr-200e_in1k.py 8
#   python tools/extract_backbone.py work_dirs/densecl_r50_8xb32-coslr-200e_in1k/iter_1000800.pth \
#       data/weights/densecl_r50_200ep.pth
# then configs/selfsup_transfer/*_from-densecl.py fine-tune it.
#
# Departures, and why:
# - No ShuffleBN: the key encoder normalises with each GPU's own batch statistics (the release
#   shuffles the key batch across GPUs first); densecl has no batch shuffle
#   (configs/densecl/README.md).
# - The cosine steps every iteration rather than once per epoch: densecl trains by iterations
#   (an infinite sampler that seeds each draw). The lr differs by at most 0.03 * pi / 400 = 2.4e-4.
# - Colour jitter, grayscale and blur: mmseg and mmcv have no torchvision-style ColorJitter or
#   GaussianBlur (PhotoMetricDistortion shifts brightness additively, draws each op with p 0.5
#   and never blurs). densecl's StrongViews draws exactly this trio through albumentations
#   (ColorJitter, ToGray, GaussianBlur, seeded from numpy so that a resumed run repeats them),
#   so each view runs StrongViews with one view and no CutMix box, inside a KeyMapper that puts
#   its view back in `img`. albumentations' blur takes its kernel size from sigma where PIL
#   approximates the Gaussian by box blurs; its jitter follows torchvision's definitions.
# - TwoViewCrop resizes crops with cv2 bilinear (mmcv.imresize), which does not antialias when
#   shrinking; torchvision resizes the PIL crop with antialiasing.
# - Initialisation as the release via init_cfg, not mmseg's ResNet default: Kaiming normal
#   fan_in for the convolutions, BN weight 1 and no zero-initialised last BN of each block (the
#   release facts in configs/densecl/README.md; OpenSelfSup's resnet.py is not in the stored
#   DenseCL tree, so not checked here), and Kaiming normal fan_in with zero bias for the global
#   MLP's Linear layers (necks.py, init_linear='kaiming'; the dense convs keep PyTorch's default).
# - Images: the official train folders are walked (ImageNetList); the release reads
#   data/imagenet/meta/train.txt. Same images; `--cfg-options
#   train_dataloader.dataset.ann_file=meta/train.txt` reads the list.
# - The release also ships DenseCLWarmupHook (dense loss off for the first iterations), but
#   densecl_imagenet_200ep.py sets no custom hook (its base.py is not in the stored tree, so
#   not checked): DenseLossWarmupHook(warmup_iters=0) keeps it off.
# - Batch: run on 8 GPUs for 8 x 32. On another GPU count the batch changes; `--cfg-options
#   auto_scale_lr.enable=True` scales the lr linearly (base 256) but not the iterations.
# - Per-GPU BN as released; `--cfg-options sync_bn=torch` would make it SyncBN (not the recipe).
_base_ = ['../_base_/datasets/imagenet_selfsup.py', '../_base_/default_runtime.py']

# 1,281,167 ImageNet-1k train images // 256 per iteration (drop_last) = 5,004 iterations/epoch
iters_per_epoch = 1281167 // (8 * 32)
max_iters = 200 * iters_per_epoch  # 1,000,800

model = dict(
    type='DenseCL',
    data_preprocessor=dict(
        type='TwoViewDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    # mmseg's ResNet (not V1c): torchvision's stem and key names, so tools/extract_backbone.py
    # output and DenseCL's released weights (tools/convert_resnet.py --layout torchvision)
    # load into the same segmenters
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(3, ),
        strides=(1, 2, 2, 2),
        dilations=(1, 1, 1, 1),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=[
            dict(type='Kaiming', layer='Conv2d', mode='fan_in', nonlinearity='relu'),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
        ]),
    neck=dict(
        type='DenseCLNeck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=128,
        init_cfg=dict(type='Kaiming', layer='Linear', mode='fan_in', nonlinearity='relu')),
    queue_length=65536,
    temperature=0.2,
    loss_lambda=0.5,
    momentum=0.001)  # mmengine EMA convention (1 - decay): decay 0.999

# MoCo v2's photometric augmentation of one view (see the departures above)
moco_v2_photometric = dict(
    type='KeyMapper',
    mapping=dict(img='img'),
    remapping=dict(img_strong=['img']),
    auto_remap=False,
    transforms=[
        dict(
            type='StrongViews',
            num_views=1,
            color_jitter=dict(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=0.8),
            grayscale_prob=0.2,
            blur_prob=0.5,
            blur_sigma=(0.1, 2.0),
            cutmix_prob=0.0)
    ])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TwoViewCrop',
        size=224,
        scale=(0.2, 1.0),
        ratio=(3 / 4, 4 / 3),
        flip_prob=0.5,
        view_pipeline=[moco_v2_photometric]),
    dict(type='PackTwoViewInputs')
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=0, end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
auto_scale_lr = dict(enable=False, base_batch_size=256)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # every 10 epochs, as released
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10 * iters_per_epoch),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    iter_seed=dict(type='IterSeedHook'))
custom_hooks = [
    # fail before training when 65,536 is not a multiple of the global batch
    dict(type='QueueLengthCheckHook'),
    dict(type='DenseLossWarmupHook', warmup_iters=0),
]
