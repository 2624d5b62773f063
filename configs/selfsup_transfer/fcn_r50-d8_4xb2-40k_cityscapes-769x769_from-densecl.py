# DenseCL's semantic-segmentation transfer to Cityscapes (Wang et al., CVPR 2021): FCN on a
# dilated ResNet-50 (output stride 8) started from the DenseCL backbone, fine-tuned on the 2,975
# fine train images and scored on val (500).
# The release (WXinlong/DenseCL: benchmarks/detection/README.md, "Transferring to Semantic
# Segmentation") runs its fork of mmsegmentation 0.x (WXinlong/mmsegmentation at 32b0aff) with
# configs/densecl/fcn_r50-d8_769x769_40k_cityscapes.py on 4 GPUs; its README gives no
# Cityscapes number (the paper's table is not checked here). The fork is not in the stored
# copies, so its changes to mmseg's config are not checked; this config is mmseg's FCN R50-D8
# Cityscapes 769 x 769 40k recipe (mmseg 1.x fcn_r50-d8_4xb2-40k_cityscapes-769x769.py): 4 GPUs
# x 2 crops of 769 x 769 (scale 0.5-2 of 2049 x 1025, cat_max_ratio 0.75, flip,
# PhotoMetricDistortion), FCN head and auxiliary head with align_corners=True, SyncBN, SGD lr
# 0.01, momentum 0.9, weight decay 5e-4, poly 0.9 to 1e-4 over 40k iterations, validation every
# 4k, sliding-window test (769 x 769 windows, stride 513) at 2049 x 1025.
# The backbone file data/weights/densecl_r50_200ep.pth comes from tools/extract_backbone.py or
# tools/convert_resnet.py --layout torchvision, as in
# fcn_r50-d8_4xb4-20k_voc12aug-512x512_from-densecl.py; the release's example uses its COCO
# 800-epoch backbone (--cfg-options model.backbone.init_cfg.checkpoint=PATH for another one).
#
# Departures, and why:
# - The backbone is mmseg's ResNet (torchvision stem), not the ResNetV1c (deep stem) of mmseg's
#   FCN R50-D8: DenseCL pretrains a torchvision ResNet-50, whose weights have no deep stem.
# - BN instead of SyncBN, so that single-process and CPU runs work, as every densecl config: on
#   4 GPUs `tools/dist_train.sh CONFIG 4 --cfg-options sync_bn=torch` for mmseg's SyncBN.
_base_ = [
    '../_base_/models/fcn_r50-d8.py', '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40k.py'
]
crop_size = (769, 769)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        type='ResNet',
        # _delete_: the R50-D8 base sets init_cfg=None
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='data/weights/densecl_r50_200ep.pth',
            prefix='backbone.')),
    decode_head=dict(align_corners=True),
    auxiliary_head=dict(align_corners=True),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(513, 513)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2049, 1025), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2049, 1025), keep_ratio=True),
    # labels are loaded after Resize: the metric compares at the original size
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
