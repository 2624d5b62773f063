# UniMatch-style weak-to-strong consistency (Yang et al., CVPR 2023) with densecl's first
# choices (the base of the CSS configs; UniMatch as released is ..._unimatch_...): an EMA
# teacher (decay 0.99, eval mode) labels the weak view, labelled images and the feature
# perturbation are decoded in separate passes, CutMix box sides are clamped; confidence
# 0.95, loss (L_x + 0.25 L_s1 + 0.25 L_s2 + 0.5 L_fp) / 2. Each batch holds
# `num_labeled` labelled images of the 1/16 split and `batch_size - num_labeled` images of
# img_dir/unlabeled (same distribution as train, disjoint from it; labels never loaded).
# Unlabelled images get the weak (geometric) view for the teacher and two strong views that
# share its geometry (StrongViews: colour jitter, grayscale, blur; CutMix in the model).
_base_ = './deeplabv3plus_r18-d16_supervised_1k_toyscenes-1-16-128x128.py'
model = dict(
    type='WeakToStrongSegmentor',
    conf_thresh=0.95,
    labeled_weight=0.5,
    strong_weight=0.125,
    fp_weight=0.25,
    fp_dropout=0.5)
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='RandomFlip', prob=0.5),
    dict(type='StrongViews', num_views=2),
    dict(type='PackSemiInputs')
]
train_dataloader = dict(
    batch_size={{_base_.batch_size}},
    sampler=dict(
        _delete_=True,
        type='SemiSupervisedSampler',
        batch_size={{_base_.batch_size}},  # the dataloader's batch_size
        num_labeled={{_base_.num_labeled}}),
    dataset=dict(
        _delete_=True,
        type='SemiSegDataset',
        labeled={{_base_.labeled_dataset}},
        unlabeled=dict(
            type={{_base_.dataset_type}},
            data_root={{_base_.data_root}},
            data_prefix=dict(img_path='img_dir/unlabeled', seg_map_path=''),
            pipeline=unlabeled_pipeline)))
