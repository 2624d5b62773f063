# Semi-supervised PASCAL VOC 2012 "aug" (21 classes) as UniMatch's release samples it
# (LiheYoung/UniMatch: dataset/semi.py, dataset/transform.py, unimatch.py, configs/pascal.yaml).
#
# Data: 10,582 training images (VOC 2012 train + SBD) and VOC's 1,449 val images. Labels from
#   python tools/convert_voc_aug.py data/VOCdevkit data/benchmark_RELEASE --nproc 8
# (SegmentationClassAug: VOC's labels where VOC has them, SBD's for the rest; UniMatch ships its
# own pre-processed union as "SegmentationClass", not compared byte for byte). Splits: UniMatch's
# published files (splits/pascal/<split>/{labeled,unlabeled}.txt, e.g. 92: 92 + 10,490 images,
# 1464: 1,464 + 9,118) converted to ann_files with
#   python tools/make_splits.py convert --preset voc --data-root data/VOCdevkit/VOC2012 \
#       --labeled splits/pascal/92/labeled.txt --unlabeled splits/pascal/92/unlabeled.txt \
#       --out-dir data/VOCdevkit/VOC2012/splits/92
# The configs read `splits/<split>/labeled.txt` and `.../unlabeled.txt` under data_root.
#
# What the release does, per GPU and step (4 GPUs): 2 labelled images and 2 unlabelled ones
# (plus 2 more unlabelled as the CutMix source, see the method configs). Every training image:
# long side resized to a uniform integer in [0.5, 2] x its own long side (bilinear / nearest),
# padded right and bottom to the crop (image black, label 255; unlabelled padding marked and
# left out of every unlabelled loss), random crop, horizontal flip with p 0.5, normalised with
# the ImageNet mean / std; no photometric change on labelled images. Unlabelled images: a weak
# view (that image) and two strong views of it (colour jitter 0.5 / 0.5 / 0.5 / 0.25 with p 0.8,
# grayscale p 0.2, Gaussian blur sigma 0.1-2 with p 0.5) with a CutMix box each (p 0.5, area
# 2-40% of the crop, aspect 0.3-3.3, redrawn until it fits). Validation: every val image whole,
# at its original size, single scale ("original" mode of supervised.py's evaluate).
#
# Here: the same with mmseg transforms. RandomResize(scale=(500, 500), ratio_range=(0.5, 2.0))
# gives a long side of 500 r: r times the image's long side for every VOC image whose long side
# is 500 (VOC's images are at most 500 pixels a side; not counted here how many are shorter, for
# those the scale is larger than the release's); mmseg's RandomCrop without cat_max_ratio, then
# Pad to the crop (the release pads before cropping: the same windows).
# Departures (shared by every config on this base), and why:
# - Unlabelled padding: SemiDataPreProcessor pads after normalisation with 0 (the mean colour)
#   and marks it invalid; the release pads with black before the strong augmentation. Both leave
#   padding out of the unlabelled losses; a black Pad in the pipeline would lose the mark.
# - CutMix boxes are drawn in the image before padding (StrongViews sees the unpadded crop), the
#   release's in the whole padded crop.
# - The labelled stream is an infinite shuffle of the labelled split (SemiSupervisedSampler); the
#   release repeats the labelled list to the unlabelled list's length and reshuffles each epoch:
#   the same images at the same rate.
dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
num_classes = 21
crop_size = (321, 321)
split = '92'
# 2 labelled + 2 unlabelled images per GPU (UniMatch: batch_size 2 of each, x 4 GPUs)
batch_size = 4
num_labeled = 2
# fail on label values outside [0, 21) other than 255, e.g. labels saved as RGB
check_labels = dict(type='CheckSegLabels', num_classes=num_classes)
labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    check_labels,
    dict(type='RandomResize', scale=(500, 500), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=crop_size),
    dict(type='PackSegInputs')
]
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(500, 500), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='StrongViews', num_views=2, cutmix_sampling='rejection'),
    dict(type='PackSemiInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    check_labels,
    dict(type='PackSegInputs')
]
labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
    ann_file=f'splits/{split}/labeled.txt',
    pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=dict(img_path='JPEGImages', seg_map_path=''),  # labels never loaded
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
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
