# Shared part of the SePiCo paper recipes with DeepLab-v2 ResNet-101 (Xie et al., TPAMI 2023;
# BIT-DA/SePiCo, experiments.py ids 1-3 with configs/_base_/models/deeplabv2_proj_r50-d8.py,
# schedules/adamw.py + poly10warm.py, uda/sepico.py), in densecl's SePiCoSegmentor terms:
#
# - model: ResNet-101 V1c (open-mmlab://resnet101_v1c), dilations (1, 1, 2, 4) / strides
#   (1, 2, 1, 1), i.e. output stride 8, BN trained (norm_eval False); the DeepLab-v2 classifier
#   (release DLV2Head = densecl DeepLabV2Head: rates 6, 12, 18, 24 on C5, N(0, 0.01) init); the
#   projection head (release ProjHead: num_convs 2, 2048 -> 2048 -> 512, BN + ReLU, L2 norm) on
#   C5 (in_index 3, input_transform None). No FCN auxiliary head.
# - contrast: temperature 100, weight 1, regulariser weight 1 (reg_relative_weight 1 x
#   loss_weight 1, use_reg True in ids 1-3), labels downscaled with 0.75 purity
#   (use_avg_pool, scale_min_ratio 0.75), bank of 200 (memory_length), contrast from iteration
#   3000 (start_distribution_iter). The variant (DistCL / BankCL / ProtoCL) is the child's.
# - self-training: EMA teacher alpha 0.999, pseudo threshold 0.968, ClassMix, colour jitter 0.2
#   (probability as released) and blur, pseudo-label weight 0 in the top 15 and bottom 120 rows
#   (plcrop True in experiments.py), self-training from the first iteration.
# - data: 1 GPU x (2 source + 2 target) crops of 640 x 640 (samples_per_gpu 2 of each domain),
#   rare-class sampling on the source (T 0.01, min_pixels 3000, min_crop_ratio 0.5), Cityscapes
#   train resized into 1280 x 640 as target, Cityscapes val at 1280 x 640 (whole image), scored
#   at full resolution.
# - schedule: AdamW lr 6e-5, betas (0.9, 0.999), weight decay 0.01, lr x10 on every parameter
#   whose name holds 'head' (pmult True: classifier and projection head); poly power 1 to 0 over
#   40k iterations with a 1.5k linear warm-up from 1e-6 (mmcv: the warm-up factor multiplies the
#   poly lr; here LinearLR and PolyLR both start at 0, mmengine chains them the same way).
#   Seed 76 (experiments.py, seeds = [76]).
#
# Departures common to both recipes, and why:
# - Target crop: ids 1-3 set pseudo_random_crop=True and regen_pseudo=True, so they load the
#   *_no_crop dataset base: the teacher labels the whole 1280 x 640 target image, the model
#   crops 640 x 640 with cat_max_ratio 0.75 on those pseudo-labels and the teacher labels the
#   crop again. SePiCoSegmentor has no such crop, so this uses the *_fix_crop base instead
#   (random 640 x 640 target crop in the pipeline, cat_max_ratio 1, i.e. unconstrained): the
#   crop may land on fewer rare pseudo-classes than the release's.
# - Validation every 4k iterations (release: every 1k) of student and teacher
#   (TeacherStudentValLoop); the release scores the student, which is what 'student/mIoU' is.
#   Evaluation does not change training.
# - The ImageNet start is the backbone's init_cfg rather than model.pretrained, because the
#   segmentor is wrapped in SePiCoSegmentor; the weights are the same file.
# - BN, not SyncBN: the recipe is single-GPU (n_gpus 1), as released.
_base_ = ['./default_runtime.py']
crop_size = (640, 640)
batch_size = 4  # per process: num_source source + the rest target images
num_source = 2
num_classes = 19
max_iters = 40000
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='SePiCoSegmentor',
    segmentor=dict(
        type='EncoderDecoder',
        backbone=dict(
            type='ResNetV1c',
            depth=101,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            dilations=(1, 1, 2, 4),
            strides=(1, 2, 1, 1),
            norm_cfg=norm_cfg,
            norm_eval=False,
            style='pytorch',
            contract_dilation=True,
            init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')),
        decode_head=dict(
            type='DeepLabV2Head',
            in_channels=2048,
            in_index=3,
            dilations=(6, 12, 18, 24),
            num_classes=num_classes,
            align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        auxiliary_head=dict(
            type='SePiCoProjectionHead', in_channels=2048, in_index=3, channels=512,
            norm_cfg=norm_cfg, align_corners=False),
        train_cfg=dict(),
        test_cfg=dict(mode='whole')),
    data_preprocessor=dict(
        type='SemiDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    contrast_loss=dict(
        type='SePiCoContrastLoss', mode='proto', temperature=100., reg_weight=1.0,
        loss_weight=1.0),
    contrast_features='backbone',
    contrast_start_iter=3000,
    purity=0.75,
    bank_length=200,
    self_training=True,
    pseudo_threshold=0.968,
    pseudo_weight_ignore_top=15,
    pseudo_weight_ignore_bottom=120,
    strong_aug=dict(jitter_strength=0.2, jitter_prob=0.8, blur_prob=0.5),
    # mmengine momentum = 1 - alpha; decay min(1 - 1 / (t + 1), alpha) as released
    teacher_momentum=0.001,
    teacher_ema=dict(type='MomentumAnnealingEMA', gamma=1),
    teacher_mode='train',
    teacher_buffers='own')

# Cityscapes train as the target (labels never loaded): resize into 1280 x 640, crop, flip.
cityscapes_root = 'data/cityscapes'
target_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1280, 640), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='NoStrongViews'),  # the model augments the batch
    dict(type='PackSemiInputs')
]
target_dataset = dict(
    type='CityscapesDataset',
    data_root=cityscapes_root,
    data_prefix=dict(img_path='leftImg8bit/train', seg_map_path=''),
    pipeline=target_pipeline)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1280, 640), keep_ratio=True),
    dict(type='LoadAnnotations'),  # after the resize: scored at full resolution
    dict(type='PackSegInputs')
]
# The child sets train_dataloader.dataset.source (rare-class sampled source dataset).
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='SemiSupervisedSampler', batch_size=batch_size, num_labeled=num_source),
    dataset=dict(type='DomainAdaptationDataset', target=target_dataset))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CityscapesDataset',
        data_root=cityscapes_root,
        data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(head=dict(lr_mult=10.))))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0., power=1.0, by_epoch=False, begin=0, end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=4000)
val_cfg = dict(type='TeacherStudentValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=76)
