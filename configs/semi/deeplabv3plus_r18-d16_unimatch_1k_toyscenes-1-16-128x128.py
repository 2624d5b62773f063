# UniMatch (Yang et al., CVPR 2023) as its release (LiheYoung/UniMatch, unimatch.py) trains:
# no EMA teacher: the online model labels the weak view in the same train-mode pass that
# gives the labelled logits (clean and Dropout2d-perturbed features decoded together) and
# labels the CutMix source in eval mode; confidence 0.95; loss
# (L_x + 0.25 L_s1 + 0.25 L_s2 + 0.5 L_fp) / 2 with L_x averaged over non-ignored pixels;
# CutMix boxes placed by rejection sampling. The EMA of the student (decay 0.99) is kept
# for evaluation only (teacher/mIoU); tools/test.py evaluates the student, as the release.
# Shared with every row (the benchmark's protocol, not the release): DeepLabV3+ R18 with
# mmseg's FCN auxiliary head, the labelled pipeline, AdamW, and CutMix with the batch's next
# image (the release draws a second view of the same images; see densecl.models.utils.cutmix).
_base_ = './deeplabv3plus_r18-d16_weak-to-strong_1k_toyscenes-1-16-128x128.py'
model = dict(
    teacher_type='online',
    joint_decode=True,
    predict_on='student',
    segmentor=dict(decode_head=dict(loss_decode=dict(avg_non_ignore=True))))
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='RandomFlip', prob=0.5),
    dict(type='StrongViews', num_views=2, cutmix_sampling='rejection'),
    dict(type='PackSemiInputs')
]
train_dataloader = dict(dataset=dict(unlabeled=dict(pipeline=unlabeled_pipeline)))
