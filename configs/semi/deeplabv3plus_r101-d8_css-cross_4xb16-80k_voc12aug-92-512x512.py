# CSS (Wang et al., ICCV 2023) 'cross' on PASCAL VOC 2012 aug (SegmentationClassAug) with 92
# labelled images, DeepLabV3+ ResNet-101 (torchvision) at output stride 8, crop 512, as its
# release trains it (WangChangqi98/CSS: cross_label.py, --num_labels default 92, with
# config/VOC_config_baseline.yaml and generalframeworks/dataset_helpers/VOC.py). The release
# publishes no result table or log: no number to reproduce.
#
# The release's data and schedule: 4 processes (argparse default) x batch_size 8 labelled + 8
# unlabelled (the yaml's batch_size per process, DistributedSampler); 80,000 iterations (see the
# model base); labelled images (VOC.py transform, VOC_BuildData's scale (0.5, 1.5)): scaled by
# r ~ U(0.5, 1.5), image padded right and bottom by reflection (label 255) up to 512, random
# 512 x 512 crop, colour jitter with p 0.8 (brightness, contrast, saturation in [0.75, 1.25],
# hue in [-0.25, 0.25]), Gaussian blur with p 0.5 (sigma 0.15-1.15), flip p 0.5, ImageNet
# normalisation, CE averaged over non-ignored pixels; unlabelled images: a 512 crop at scale 1
# (reflection padding) that the teacher labels, then (Model_cross, batch_transform_3) rescaled by
# U(0.5, 1.5) (the yaml's scale_size) and cropped to 512 with its labels, CutMix-ed with the
# next image (a box of half the crop, width uniform in (256, 512), taken from another image of
# the batch gathered over all GPUs), then colour jitter, blur and flip as above; evaluation of the
# EMA model on the 1,449 val images whole (the 512 crop of a <= 500-pixel image padded by
# reflection holds all of it). Split: labeled_filename.txt under <txt_dir>/92/3407, written by a
# make_list.py that is not in the release.
# Model, step, optimiser and their departures: configs/_base_/semi_css_r101-d8.py; the VOC data
# set-up: configs/_base_/semi_voc12aug.py. Departures of this config, and why:
# - Split: UniMatch's splits/pascal/92 (92 labelled, 10,490 unlabelled; data/VOCdevkit/VOC2012/
#   splits/92 from tools/make_splits.py), since CSS's own 92-image list is not released.
# - One geometry for teacher and student: the unlabelled pipeline scales (U(0.5, 1.5)), crops and
#   flips once and StrongViews derives the strong view from that crop, so the teacher labels the
#   view the student sees; the release's teacher sees the scale-1 crop and its labels are resized
#   (nearest) into the rescaled strong view.
# - CutMix: StrongViews' box (p 1, area 2-40% of the crop, aspect 0.3-3.3) filled from the next
#   image of the same batch; the release's box is half the crop, its source in the gathered batch.
# - Padding: labelled images black (mmseg's Pad cannot reflect the image and keep the label at
#   255: it pads both the same way); unlabelled ones in the mean colour, left out of the losses
#   (the base's note). The release reflects both.
# - Photometric augmentation: the release's ranges through albumentations (mmseg's Albu for
#   labelled images, StrongViews for the strong view; order and implementation are
#   albumentations', not torchvision's; no grayscale, as released).
_base_ = ['../_base_/semi_voc12aug.py', '../_base_/semi_css_r101-d8.py']
crop_size = (512, 512)
batch_size = 16  # per GPU: 8 labelled + 8 unlabelled
num_labeled = 8
photometric = dict(
    brightness=(0.75, 1.25), contrast=(0.75, 1.25), saturation=(0.75, 1.25), hue=(-0.25, 0.25),
    p=0.8)
labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels', num_classes=21),
    dict(type='RandomResize', scale=(500, 500), ratio_range=(0.5, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='Pad', size=crop_size),
    dict(
        type='Albu',
        transforms=[
            dict(type='ColorJitter', **photometric),
            dict(type='GaussianBlur', blur_limit=0, sigma_limit=(0.15, 1.15), p=0.5)
        ]),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(500, 500), ratio_range=(0.5, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='StrongViews',
        num_views=1,
        cutmix_prob=1.0,
        color_jitter=photometric,
        grayscale_prob=0.0,
        blur_prob=0.5,
        blur_sigma=(0.15, 1.15)),
    dict(type='PackSemiInputs')
]
model = dict(data_preprocessor=dict(size=crop_size))
train_dataloader = dict(
    batch_size=batch_size,
    sampler=dict(batch_size=batch_size, num_labeled=num_labeled),
    dataset=dict(
        labeled=dict(pipeline=labeled_pipeline),
        unlabeled=dict(pipeline=unlabeled_pipeline)))
