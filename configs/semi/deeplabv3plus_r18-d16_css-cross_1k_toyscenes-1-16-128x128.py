# CSS (Wang et al., ICCV 2023) 'cross' as its release (WangChangqi98/CSS, cross_label.py)
# trains: representation-space labels supervise the classifier (CE on every pixel of the
# strong view, each image times its share of representation confidence >= 0.97), logit-space
# labels with confidence >= 0.7 supervise the representation through the anchor-to-prototype
# contrast (css_head of configs/_base_/heads/contrast_r18.py); loss L_sup + L_unsup +
# exp(-5 (i / max_iters)^2) L_contrast. Teacher: EMA of the parameters with decay
# min(1 - 1 / (t + 1), 0.99), BN in train mode with its own statistics. One CutMix-ed strong
# view, no feature perturbation; labelled CE averaged over non-ignored pixels.
# Deviation: tau_r 0.1 (see the head's config).
_base_ = [
    './deeplabv3plus_r18-d16_weak-to-strong_1k_toyscenes-1-16-128x128.py',
    '../_base_/heads/contrast_r18.py'
]
fcn_head = {{_base_.model.segmentor.auxiliary_head}}
model = dict(
    type='CSSSegmentor',
    mode='cross',
    conf_thresh=0.97,
    contrast_thresh=0.7,
    labeled_weight=1.0,
    strong_weight=1.0,
    rampdown_iters={{_base_.max_iters}},
    teacher_momentum=0.01,
    teacher_ema=dict(type='MeanTeacherEMA'),
    teacher_mode='train',
    teacher_buffers='own',
    teacher_warmup=1,
    segmentor=dict(
        decode_head=dict(loss_decode=dict(avg_non_ignore=True)),
        auxiliary_head=[fcn_head, {{_base_.css_head}}]))
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='RandomFlip', prob=0.5),
    dict(type='StrongViews', num_views=1, cutmix_prob=1.0),
    dict(type='PackSemiInputs')
]
train_dataloader = dict(dataset=dict(unlabeled=dict(pipeline=unlabeled_pipeline)))
