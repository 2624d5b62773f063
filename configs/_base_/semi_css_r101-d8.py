# CSS (Wang et al., ICCV 2023) 'cross' as its release trains it, on DeepLabV3+ ResNet-101 at
# output stride 8 (WangChangqi98/CSS: cross_label.py, generalframeworks/networks/ddp_model.py
# Model_cross, generalframeworks/networks/deeplabv3/{deeplabv3,aspp}.py, generalframeworks/loss/
# loss.py, generalframeworks/scheduler/{my_lr_scheduler,rampscheduler}.py, config/*_baseline.yaml).
# Model, losses and optimiser; data and schedule come from each config.
#
# What the release does:
# - Backbone: torchvision's ImageNet ResNet-101 (README: resnet101-63fe2227.pth), layer3 and
#   layer4 dilated instead of strided (_nostride_dilate: output stride 8, the first block of each
#   at half the dilation: 1 then 2, the others at 2 and 4; mmseg's contract_dilation=True), SyncBN.
# - Head (DeepLabv3Plus_with_rep): ASPP on layer4 (2048 -> 256: a 1x1 conv, 3x3 convs at 12, 24,
#   36, image pooling, each + BN + ReLU, projected by a 1x1 conv + BN + ReLU), upsampled
#   (align_corners=True) to layer1 reduced to 48 channels, concatenated (304 channels); the
#   classifier is a 3x3 conv 304 -> 256 + BN + ReLU and a 1x1 conv; the representation head the
#   same with 256 outputs (raw embeddings at stride 4). No auxiliary head.
# - Step (cross_label.py, Model_cross): the EMA teacher, BN in train mode, labels the unlabelled
#   batch in the logit space (softmax) and the representation space (softmax of cosines to the
#   class prototypes / 0.5, cross_label.py passes temp=args.temp); the strong view is a rescaled,
#   CutMix-ed, colour-jittered copy; classifier CE on it against the representation labels, each
#   image weighted by its share of representation confidence >= 0.97 (un_threshold); the
#   anchor-to-prototype contrast on labelled pixels and unlabelled pixels of logit confidence >=
#   0.7 (weak_threshold), 256 anchors per class among pixels of representation probability < 0.8
#   (strong_threshold, argparse default), 512 negatives, temperature 0.5, prototypes EMA 0.99;
#   loss L_sup + L_unsup + r L_contrast, r = exp(-5 (epoch / 200)^2) stepped per epoch. Teacher:
#   parameters averaged with decay min(1 - 1 / (t + 1), 0.99) after every step, buffers its own.
# - Optimiser: SGD lr 6.4e-3 on every parameter, momentum 0.9, nesterov, weight decay 5e-4; poly
#   max(lr (1 - i / total_iter)^0.9, 1e-4) per iteration; total_iter 80,000 (the default of
#   mix_label.py's --total_iter; cross_label.py reads args.total_iter but declares no such
#   argument, so it stops there as released); 4 processes (argparse --world_size default 4; the
#   yaml's Distributed section is not read). The EMA model is evaluated every epoch.
#
# Here: CSSSegmentor mode 'cross' with the toyscenes CSS config's settings (densecl's "CSS as
# released", configs/semi/README.md), mmseg's ResNet (torchvision layout) from
# torchvision://resnet101 (resolved offline from data/weights/ or torch hub's cache), and mmseg's
# DepthwiseSeparableASPPHead with CSS's widths and rates.
# Departures (shared by the CSS configs), and why:
# - tau_r (rep_temperature) 0.1, not 0.5: at 0.5 the representation confidence cannot reach the
#   0.97 the classifier loss counts (at most 0.73 with 21 classes, 0.75 with 19), so the release's
#   unlabelled classifier loss is always 0 (configs/semi/README.md, CSSSegmentor's warning).
# - Representation head: a PrototypeContrastHead (1x1 conv + BN + ReLU, 1x1 conv to 256, raw) on
#   layer1 and layer4 resized to stride 4 and concatenated (2,304 channels), not CSS's 3x3 + 1x1
#   convs on the decoder's 304-channel features: a ContrastHead reads backbone levels only; these
#   are the two levels, and the stride, the decoder fuses.
# - Decoder convolutions: mmseg's DeepLabV3+ head has depthwise-separable 3x3 convs (ASPP
#   branches and two fusion convs, not CSS's one plain 3x3) and a 3x3 ASPP projection; mmcv's
#   initialisation.
# - Ramp: exp(-5 (i / 80,000)^2) per iteration, down to 0 at the end of the run. The release
#   steps it per epoch of its labelled loader over 200 epochs (Ramp_Scheduler max_epoch, equal to
#   Training_Setting epoch), whose length its unreleased split lists fix; over 80k iterations that
#   is the same curve when the run is 200 of those epochs.
# - Poly floor: mmengine's PolyLR with eta_min 1e-4 is (lr - 1e-4) (1 - i / T)^0.9 + 1e-4, the
#   release max(lr (1 - i / T)^0.9, 1e-4): equal at both ends, up to 1e-4 apart in between.
# - Validation every 4,000 iterations (20 times), the best teacher checkpoint kept; the release
#   evaluates after every epoch, whose length is not known (see the ramp).
# - Teacher of the labelled images: the release also runs them through the train-mode teacher
#   (its BN statistics move); skipped (no pseudo-label depends on it).
# - BN instead of SyncBN so that one process runs it: on 4 GPUs use
#   `tools/dist_train.sh CONFIG 4 --cfg-options sync_bn=torch`.
_base_ = ['./default_runtime.py']
norm_cfg = dict(type='BN', requires_grad=True)
# 21 classes (VOC); the Cityscapes config sets 19 in the decode head, this head and its loss
css_head = dict(
    type='PrototypeContrastHead',
    in_channels=[256, 2048],
    in_index=[0, 3],
    input_transform='resize_concat',
    channels=256,
    embed_channels=256,
    num_classes=21,
    norm_cfg=norm_cfg,
    align_corners=True,
    loss_decode=dict(
        type='PrototypeContrastLoss',
        num_classes=21,
        dim=256,
        temperature=0.5,
        decay=0.99,
        rep_temperature=0.1,
        hard_thresh=0.8,
        num_anchors=256,
        num_negatives=512,
        contrast_pixels='sampled',
        loss_weight=1.0))
model = dict(
    type='CSSSegmentor',
    data_preprocessor=dict(
        type='SemiDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(512, 512)),
    segmentor=dict(
        type='EncoderDecoder',
        backbone=dict(
            type='ResNet',
            depth=101,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            strides=(1, 2, 1, 1),
            dilations=(1, 1, 2, 4),
            contract_dilation=True,
            norm_cfg=norm_cfg,
            norm_eval=False,
            style='pytorch',
            init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')),
        decode_head=dict(
            type='DepthwiseSeparableASPPHead',
            in_channels=2048,
            in_index=3,
            channels=256,
            dilations=(1, 12, 24, 36),
            c1_in_channels=256,
            c1_channels=48,
            dropout_ratio=0,
            num_classes=21,
            norm_cfg=norm_cfg,
            align_corners=True,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
                avg_non_ignore=True)),
        auxiliary_head=css_head,
        train_cfg=dict(),
        test_cfg=dict(mode='whole')),
    mode='cross',
    conf_thresh=0.97,
    contrast_thresh=0.7,
    labeled_weight=1.0,
    strong_weight=1.0,
    rampdown_iters=80000,
    teacher_momentum=0.01,
    teacher_ema=dict(type='MeanTeacherEMA'),
    teacher_mode='train',
    teacher_buffers='own',
    teacher_warmup=1,
    predict_on='teacher')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=6.4e-3, momentum=0.9, nesterov=True, weight_decay=5e-4),
    clip_grad=None)
max_iters = 80000
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=4000)
val_cfg = dict(type='TeacherStudentValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # the release evaluates the EMA model after every epoch and keeps the best (best_model.pth)
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000, max_keep_ckpts=1,
                    save_best='teacher/mIoU', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    iter_seed=dict(type='IterSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
