# CSS (Wang et al., ICCV 2023) 'cross' on Cityscapes with 372 labelled images, DeepLabV3+
# ResNet-101 (torchvision) at output stride 8, crop 769, as its release trains it
# (WangChangqi98/CSS: cross_label.py with config/CityScapes_config_baseline.yaml, num_labels
# 372, and generalframeworks/dataset_helpers/Cityscapes.py). The release publishes no result
# table or log: no number to reproduce.
#
# The release's data and schedule: 4 processes x batch_size 4 labelled + 4 unlabelled; 80,000
# iterations (see the model base); labelled images (City_BuildData: scale_size (1.0, 1.0)): not
# rescaled, a random 769 x 769 crop of the 2048 x 1024 image, colour jitter p 0.8 ([0.75, 1.25]
# brightness / contrast / saturation, hue [-0.25, 0.25]), Gaussian blur p 0.5 (sigma 0.15-1.15),
# flip p 0.5; supervised loss ProbOhemCrossEntropy2d(thresh 0.7, min_kept 50,000 x batch_size =
# 200,000 per GPU batch of 4), averaged over the kept pixels, no class weights (cross_label.py
# loads a class-weight tensor but does not pass it); unlabelled images: a 769 crop at scale 1
# labelled by the teacher, then rescaled by U(0.5, 2.0) (the yaml's scale_size), cropped to 769,
# CutMix-ed (half the crop) and jittered, blurred, flipped as above; labels *_gtFine_trainIds.png;
# evaluation of the EMA model on one random 769 x 769 crop (scale 1) of each val image.
# Model, step, optimiser and their departures: configs/_base_/semi_css_r101-d8.py; the
# Cityscapes data set-up: configs/_base_/semi_cityscapes.py. Departures of this config, and why:
# - Split: UniMatch's splits/cityscapes/1_8 (372 labelled, 2,603 unlabelled; data/cityscapes/
#   splits/1_8 from tools/make_splits.py), since CSS's own 372-image list is not released.
# - Evaluation: all of every val image, sliding 769 x 769 windows moved by int(769 * 2 / 3) = 512
#   (UniMatch's window rule), not one random crop per image, which is neither repeatable nor
#   comparable with other tables.
# - OHEM: mmseg's OHEMPixelSampler(thresh=0.7, min_kept=50,000 per image) keeps the same pixels;
#   mmseg's CE averages their loss over all non-ignored pixels, the release over the kept ones
#   (see the UniMatch Cityscapes config).
# - One geometry for teacher and student, StrongViews' CutMix box and padding: as in the CSS VOC
#   config.
_base_ = ['../_base_/semi_cityscapes.py', '../_base_/semi_css_r101-d8.py']
crop_size = (769, 769)
num_classes = 19
split = '1_8'
batch_size = 8  # per GPU: 4 labelled + 4 unlabelled
num_labeled = 4
photometric = dict(
    brightness=(0.75, 1.25), contrast=(0.75, 1.25), saturation=(0.75, 1.25), hue=(-0.25, 0.25),
    p=0.8)
labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
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
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
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
model = dict(
    data_preprocessor=dict(size=crop_size),
    segmentor=dict(
        decode_head=dict(
            num_classes=num_classes,
            sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=50000)),
        auxiliary_head=dict(
            num_classes=num_classes, loss_decode=dict(num_classes=num_classes)),
        test_cfg=dict(mode='slide', crop_size=crop_size, stride=(512, 512))))
train_dataloader = dict(
    batch_size=batch_size,
    sampler=dict(batch_size=batch_size, num_labeled=num_labeled),
    dataset=dict(
        labeled=dict(ann_file=f'splits/{split}/labeled.txt', pipeline=labeled_pipeline),
        unlabeled=dict(ann_file=f'splits/{split}/unlabeled.txt', pipeline=unlabeled_pipeline)))
