# SePiCo DistCL, GTA5 -> Cityscapes, DeepLab-v2 ResNet-101 (Xie et al., TPAMI 2023): the
# release's experiments.py id 1 (dlv2_proj + r101v1c, uda 'sepico', use_dist True, use_bank
# False, use_reg True, reg_relative_weight 1, num_convs 2, in_channels 2048, contrast_indexes 3,
# contrast_mode None, start_distribution_iter 3000, contrastive_temperature 100, weight 1,
# rcs_T 0.01, plcrop True, 1 GPU x batch 2, AdamW 6e-5 with head lr x10, poly10warm, 40k, seed
# 76). Its README reports 61.0 mIoU (19 classes) for sepico_distcl_gta2city_dlv2.pth.
# Model, contrast, schedule and target data: configs/_base_/uda_sepico_deeplabv2_r101.py (and
# its departures). Here: DistCL (each class a Gaussian: running mean and diagonal variance of
# the teacher's source projections) and the GTA5 source as the release's fix_crop base loads
# it: resize into 1280 x 720, random 640 x 640 crop with cat_max_ratio 0.75, flip; photometric
# augmentation is the model's. Rare-class sampling (T 0.01, min_pixels 3000, min_crop_ratio
# 0.5) draws the source images, from the sample_class_stats.json that
# `python tools/convert_datasets.py gta5 data/gta5` writes.
# Departures beyond the base's: none.
_base_ = '../_base_/uda_sepico_deeplabv2_r101.py'
model = dict(contrast_loss=dict(mode='dist', var_ratio=1.0))
source_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1280, 720), keep_ratio=True),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    dataset=dict(
        source=dict(
            type='RareClassSampledDataset',
            dataset=dict(
                type='GTA5Dataset',
                data_root='data/gta5',
                data_prefix=dict(img_path='images', seg_map_path='labels'),
                pipeline=source_pipeline),
            stats_file='sample_class_stats.json',
            class_temp=0.01,
            min_pixels=3000,
            min_crop_ratio=0.5)))
