# PASCAL VOC 2012 "aug" (21 classes): VOC 2012 + SBD labels, 10,582 training images; validation
# on VOC's 1,449 val images and labels. From the official VOCdevkit and SBD benchmark_RELEASE:
#   python tools/convert_voc_aug.py data/VOCdevkit data/benchmark_RELEASE --nproc 8
# writes SegmentationClassAug/ (VOC's labels where VOC has them, SBD's for the rest) and
# ImageSets/Segmentation/trainaug.txt. The pipelines are mmseg's pascal_voc12_aug ones; unlike
# mmseg's config (ConcatDataset of VOC train + its SBD-only aug.txt), one dataset gives the
# 10,582 images, VOC train's with VOC's labels. Semi-supervised splits
# (tools/make_splits.py --preset voc) are ann_files over the same img_path / seg_map_path.
dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (512, 512)
num_classes = 21
# fail on label values outside [0, 21) other than 255 (void), e.g. labels saved as RGB
check_labels = dict(type='CheckSegLabels', num_classes=num_classes)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    check_labels,
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='Pad', size=crop_size),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    # labels are loaded after Resize: the metric compares at the original size
    dict(type='LoadAnnotations'),
    check_labels,
    dict(type='PackSegInputs')
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale_factor=r, keep_ratio=True) for r in img_ratios],
            [
                dict(type='RandomFlip', prob=0.0, direction='horizontal'),
                dict(type='RandomFlip', prob=1.0, direction='horizontal')
            ],
            [dict(type='LoadAnnotations')],
            [check_labels],
            [dict(type='PackSegInputs')],
        ])
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        ann_file='ImageSets/Segmentation/trainaug.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
