# UniMatch (Yang et al., CVPR 2023) as its release trains it, on DeepLabV3+ ResNet-101 at output
# stride 16 (LiheYoung/UniMatch: unimatch.py, model/semseg/deeplabv3plus.py,
# model/backbone/resnet.py, configs/{pascal,cityscapes}.yaml). Model, losses and optimiser;
# the data come from configs/_base_/semi_{voc12aug,cityscapes}.py, the schedule from each config.
#
# What the release does:
# - Backbone: its own ImageNet ResNet-101 (pretrained/resnet101.pth) with a deep stem (3x3 convs
#   3-64 stride 2, 64-64, 64-128, then BN, ReLU, max pool: mmseg's ResNetV1c with
#   stem_channels=128), layer4 dilated instead of strided (replace_stride_with_dilation
#   [False, False, True]: its first block at dilation 1, the others at 2; mmseg's
#   contract_dilation=True), SyncBN.
# - Head: ASPP on layer4 (2048 -> 256 channels: a 1x1 conv, 3x3 convs at dilations 6, 12, 18,
#   image pooling, each conv + BN + ReLU; concatenation projected by a 1x1 conv + BN + ReLU),
#   upsampled to layer1 and concatenated with layer1 reduced to 48 channels (1x1 conv + BN +
#   ReLU), two 3x3 convs 304 -> 256 -> 256 (+ BN + ReLU), a 1x1 classifier; no dropout, no
#   auxiliary head; every resize bilinear with align_corners=True, logits upsampled to the input.
# - Step: the CutMix sources (a second draw of the unlabelled loader) are labelled by the online
#   model in eval mode; then one train-mode pass over labelled + weak images, decoding their clean
#   and Dropout2d(0.5)-perturbed (layer1 and layer4) features together; one pass over the two
#   CutMix-ed strong views. Pseudo-labels: argmax of the weak view's prediction (detached), kept
#   where its confidence >= conf_thresh (0.95 on VOC; 0 on Cityscapes); each unlabelled CE summed
#   over kept pixels / image (non-padding) pixels. Loss (L_x + 0.25 L_s1 + 0.25 L_s2 + 0.5 L_fp)
#   / 2, L_x the CE averaged over non-ignored pixels (VOC) or ProbOhemCrossEntropy2d (Cityscapes).
#   No EMA model; the online model is evaluated.
# - Optimiser: SGD, momentum 0.9, weight decay 1e-4 on every parameter; lr for the backbone,
#   lr x lr_multi for the rest (VOC 0.001 x 10, Cityscapes 0.005 x 1); poly
#   lr (1 - i / total_iters)^0.9 to 0 per iteration; 4 GPUs (README: "the <num_gpu> should be
#   set as 4"). An epoch is one pass of the unlabelled loader: iterations per epoch =
#   floor(ceil(unlabelled / 4 GPUs) / 2) (DistributedSampler, batch 2, drop_last); total_iters =
#   epochs x that (the logs' progress lines every len // 8 iterations confirm it).
#
# Here: WeakToStrongSegmentor with teacher_type='online', joint_decode=True (densecl's
# "UniMatch as released", configs/semi/README.md), the ResNetV1c above from UniMatch's weights
# converted by
#   python tools/convert_resnet.py pretrained/resnet101.pth data/weights/resnet101_unimatch.pth \
#       --layout unimatch --depth 101
# and mmseg's DepthwiseSeparableASPPHead with UniMatch's widths (256, 48) and rates.
# Departures (shared by every config on this base), and why:
# - Decoder convolutions: mmseg's DeepLabV3+ head (the only one in mmseg) uses depthwise-
#   separable 3x3 convs in the dilated ASPP branches and in the two fusion convs, and a 3x3
#   (not 1x1) ASPP projection; UniMatch's are plain convs. Fewer decoder parameters; densecl has
#   no plain-conv DeepLabV3+ head and these configs do not add one.
# - Initialisation of the decoder: mmcv's (Kaiming normal convs, classifier N(0, 0.01)), the
#   release's PyTorch defaults.
# - CutMix source: the next unlabelled image of the same batch with its weak-view label from the
#   online model in eval mode, not a second loader draw (see configs/semi/README.md).
# - Feature perturbation: Dropout2d on every backbone level; the head reads layer1 and layer4 only,
#   the two the release perturbs, so the decoded result is the same.
# - An EMA of the student (decay 0.99) is kept for evaluation only (teacher/mIoU); the student,
#   the release's model, is what `predict_on` and the best checkpoint use.
# - BN instead of SyncBN so that one process runs it: on 4 GPUs use
#   `tools/dist_train.sh CONFIG 4 --cfg-options sync_bn=torch`.
_base_ = ['./default_runtime.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='WeakToStrongSegmentor',
    data_preprocessor=dict(
        type='SemiDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(321, 321)),
    segmentor=dict(
        type='EncoderDecoder',
        backbone=dict(
            type='ResNetV1c',
            depth=101,
            stem_channels=128,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            strides=(1, 2, 2, 1),
            dilations=(1, 1, 1, 2),
            contract_dilation=True,
            norm_cfg=norm_cfg,
            norm_eval=False,
            style='pytorch',
            init_cfg=dict(
                type='Pretrained', checkpoint='data/weights/resnet101_unimatch.pth',
                prefix='backbone.')),
        decode_head=dict(
            type='DepthwiseSeparableASPPHead',
            in_channels=2048,
            in_index=3,
            channels=256,
            dilations=(1, 6, 12, 18),
            c1_in_channels=256,
            c1_channels=48,
            dropout_ratio=0,
            num_classes=21,
            norm_cfg=norm_cfg,
            align_corners=True,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
                avg_non_ignore=True)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole')),
    teacher_type='online',
    joint_decode=True,
    predict_on='student',
    teacher_momentum=0.01,  # the evaluation-only EMA: decay 0.99
    conf_thresh=0.95,
    labeled_weight=0.5,
    strong_weight=0.125,
    fp_weight=0.25,
    fp_dropout=0.5,
    contrast_unlabeled=False)
# lr is the backbone's; the decode head gets lr x 10 on VOC (pascal.yaml lr_multi), x 1 on
# Cityscapes. The EMA's parameters (teacher.module.*) take no gradient and are never stepped.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}),
    clip_grad=None)
val_cfg = dict(type='TeacherStudentValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # the release keeps the best of its per-epoch evaluations (best.pth, "Previous best")
    checkpoint=dict(type='CheckpointHook', by_epoch=False, max_keep_ckpts=1,
                    save_best='student/mIoU', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    iter_seed=dict(type='IterSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
