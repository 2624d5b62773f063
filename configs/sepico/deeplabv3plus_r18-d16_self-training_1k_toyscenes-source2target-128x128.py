# DACS self-training (Tranheden et al., WACV 2021) as SePiCo's (DAFormer's) release runs it,
# without contrast: each batch holds `num_source` source images (toyscenes train) and
# `batch_size - num_source` target images (target_train, labels never loaded). The EMA teacher,
# in train mode (BN with each batch's statistics, dropout off), labels the plain target; the
# student learns the colour-jittered, blurred source and ClassMix-ed plain source/target images
# (classes drawn from the source batch's labels), jittered and blurred after mixing, target
# pixels weighted by the share of pseudo-labels with confidence >= 0.968.
_base_ = './deeplabv3plus_r18-d16_source-only_1k_toyscenes-source2target-128x128.py'
model = dict(
    self_training=True,
    pseudo_threshold=0.968,
    strong_aug=dict(jitter_strength=0.2, jitter_prob=0.8, blur_prob=0.5),
    teacher_mode='train',
    teacher_buffers='own')
target_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='RandomFlip', prob=0.5),
    dict(type='NoStrongViews'),  # the model augments the batch
    dict(type='PackSemiInputs')
]
train_dataloader = dict(
    batch_size={{_base_.batch_size}},
    sampler=dict(
        _delete_=True,
        type='SemiSupervisedSampler',
        batch_size={{_base_.batch_size}},  # the dataloader's batch_size
        num_labeled={{_base_.num_source}}),
    dataset=dict(
        _delete_=True,
        type='DomainAdaptationDataset',
        source={{_base_.source_dataset}},
        target=dict(
            type={{_base_.dataset_type}},
            data_root={{_base_.data_root}},
            data_prefix=dict(img_path='img_dir/target_train', seg_map_path=''),
            pipeline=target_pipeline)))
