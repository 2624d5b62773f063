# SYNTHIA-RAND-CITYSCAPES (9,400 rendered frames; 16 of the 19 Cityscapes classes occur), the
# source of SYNTHIA -> Cityscapes, in its official layout: data/synthia/RGB/*.png and
# data/synthia/GT/LABELS/*.png, the labels converted to GT/LABELS/*_labelTrainIds.png (with
# sample_class_stats.json for rare-class sampling) by
#   python tools/convert_datasets.py synthia data/synthia
# DAFormer's source crop: resize into 1280x760 (keeping the ratio), random 512x512 crop.
# Photometric augmentation is left to the adaptation model, as in DAFormer's release. Evaluate
# on Cityscapes with SubsetIoUMetric (mIoU16 / mIoU13, see densecl.evaluation).
dataset_type = 'SynthiaDataset'
data_root = 'data/synthia'
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1280, 760), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
source_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=dict(img_path='RGB', seg_map_path='GT/LABELS'),
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
# The Cityscapes evaluation of SYNTHIA -> Cityscapes: the 19-class mIoU plus the mIoU over the
# 16 classes SYNTHIA labels and over 13 of them (densecl.evaluation.SYNTHIA_16 / SYNTHIA_13).
synthia_evaluator = dict(
    type='SubsetIoUMetric',
    iou_metrics=['mIoU'],
    class_subsets=dict(
        mIoU16=[
            'road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
            'traffic sign', 'vegetation', 'sky', 'person', 'rider', 'car', 'bus', 'motorcycle',
            'bicycle'
        ],
        mIoU13=[
            'road', 'sidewalk', 'building', 'traffic light', 'traffic sign', 'vegetation', 'sky',
            'person', 'rider', 'car', 'bus', 'motorcycle', 'bicycle'
        ]))
