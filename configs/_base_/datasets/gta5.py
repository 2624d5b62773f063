# GTA5 (24,966 game frames, 19 Cityscapes classes), the source of GTA5 -> Cityscapes, in its
# official layout: data/gta5/images/*.png and data/gta5/labels/*.png, the labels converted to
# labels/*_labelTrainIds.png (with sample_class_stats.json for rare-class sampling) by
#   python tools/convert_datasets.py gta5 data/gta5
# DAFormer's source crop: resize into 1280x720 (keeping the ratio), random 512x512 crop
# (SePiCo's release crops 640x640). Photometric augmentation is left to the adaptation model,
# as in both releases.
dataset_type = 'GTA5Dataset'
data_root = 'data/gta5'
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1280, 720), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
source_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=dict(img_path='images', seg_map_path='labels'),
    pipeline=train_pipeline)
# The same images drawn by rare-class sampling (DAFormer's settings), e.g. as the `source` of
# a DomainAdaptationDataset.
rcs_source_dataset = dict(
    type='RareClassSampledDataset',
    dataset=source_dataset,
    stats_file='sample_class_stats.json',
    class_temp=0.01,
    min_pixels=3000,
    min_crop_ratio=0.5)
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=source_dataset)
