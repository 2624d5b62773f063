# Semi-supervised Cityscapes (19 classes) as UniMatch's release samples it (LiheYoung/UniMatch:
# dataset/semi.py, dataset/transform.py, unimatch.py, configs/cityscapes.yaml).
#
# Data: mmseg's layout, data/cityscapes/leftImg8bit/{train,val} and gtFine/{train,val} with
# *_gtFine_labelTrainIds.png written by `python tools/convert_datasets.py cityscapes
# data/cityscapes`. Splits: UniMatch's published files (splits/cityscapes/<split>/...:
# 1_16 186 + 2,789 images, 1_8 372 + 2,603, 1_4 744 + 2,231, 1_2 1,488 + 1,487) converted with
#   python tools/make_splits.py convert --preset cityscapes --data-root data/cityscapes \
#       --labeled splits/cityscapes/1_16/labeled.txt \
#       --unlabeled splits/cityscapes/1_16/unlabeled.txt --out-dir data/cityscapes/splits/1_16
# The configs read `splits/<split>/labeled.txt` and `.../unlabeled.txt` under data_root.
#
# What the release does: as for VOC (configs/_base_/semi_voc12aug.py): per GPU and step 2
# labelled and 2 unlabelled images (plus 2 unlabelled CutMix sources), long side resized to a
# uniform integer in [0.5, 2] x 2048, crop 801 x 801 (configs/cityscapes.yaml crop_size) padded
# where needed, flip p 0.5, ImageNet normalisation; unlabelled: a weak view and two strong views
# with CutMix boxes. Validation on the 500 val images at full resolution with a sliding window
# (the method configs set the window in the model's test_cfg).
#
# Here: mmseg's RandomResize(scale=(2048, 1024), ratio_range=(0.5, 2.0)) scales 2048 x 1024
# images by r exactly; RandomCrop without cat_max_ratio, Pad to the crop.
# Departures: those of the VOC base (unlabelled padding in the mean colour, CutMix boxes drawn
# before padding, an infinite shuffled labelled stream).
dataset_type = 'CityscapesDataset'
data_root = 'data/cityscapes'
num_classes = 19
crop_size = (801, 801)
split = '1_16'
batch_size = 4  # per GPU: 2 labelled + 2 unlabelled
num_labeled = 2
labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=crop_size),
    dict(type='PackSegInputs')
]
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='StrongViews', num_views=2, cutmix_sampling='rejection'),
    dict(type='PackSemiInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
    ann_file=f'splits/{split}/labeled.txt',
    pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=dict(img_path='leftImg8bit/train', seg_map_path=''),  # labels never loaded
    ann_file=f'splits/{split}/unlabeled.txt',
    pipeline=unlabeled_pipeline)
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='SemiSupervisedSampler', batch_size=batch_size, num_labeled=num_labeled),
    dataset=dict(type='SemiSegDataset', labeled=labeled_dataset, unlabeled=unlabeled_dataset))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
