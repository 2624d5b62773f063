# DSSN (Tian et al., ACM MM 2023) as its release (kunzhan/DSSN, voc/DSSN.py) trains: EMA
# teacher with decay 0.996 (mmengine momentum 0.004) of parameters and BN buffers, its BN in
# train mode, a copy of the student after the first step; strong views labelled by the
# teacher with class-aware selection on the CutMix-ed probabilities, the two Dropout2d
# views by the student's own weak prediction; 0.5 [L_x + 0.25 (4 CE terms) + 0.01 (2 MSE
# terms over all pixels, logits standardised with the unbiased std)], no strong CE at the
# first step; L_x averaged over non-ignored pixels; strong views with 1-3 RandAugment-style
# ops and rejection-sampled CutMix boxes. Protocol shared with every row: see the UniMatch
# config.
_base_ = './deeplabv3plus_r18-d16_weak-to-strong_1k_toyscenes-1-16-128x128.py'
model = dict(
    type='DSSNSegmentor',
    high=0.92,
    scale=0.96,
    labeled_weight=0.5,
    strong_weight=0.125,
    fp_weight=0.125,
    consistency_weight=0.005,
    siamese_pixels='all',
    strong_start_iter=1,
    teacher_momentum=0.004,
    teacher_mode='train',
    teacher_buffers='ema',
    teacher_warmup=2,
    joint_decode=True,
    fp_targets='student',
    segmentor=dict(decode_head=dict(loss_decode=dict(avg_non_ignore=True))))
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='RandomFlip', prob=0.5),
    dict(type='StrongViews', num_views=2, cutmix_sampling='rejection', num_image_ops=3),
    dict(type='PackSemiInputs')
]
train_dataloader = dict(dataset=dict(unlabeled=dict(pipeline=unlabeled_pipeline)))
