# DenseCL's semantic-segmentation transfer to PASCAL VOC 2012 aug (Wang et al., CVPR 2021):
# FCN on a dilated ResNet-50 (output stride 8) started from the DenseCL backbone, fine-tuned on
# the 10,582 trainaug images and scored on VOC val (1,449).
# The release (WXinlong/DenseCL: benchmarks/detection/README.md, "Transferring to Semantic
# Segmentation") trains with its fork of mmsegmentation 0.x (WXinlong/mmsegmentation at
# 32b0aff, configs/densecl/fcn_r50-d8.py holding the pretrained path, and mmseg's
# fcn_r50-d8_512x512_20k_voc12aug.py); its README lists 69.4 VOC seg mIoU for the ImageNet
# 200-epoch backbone (67.5 for COCO 800 epochs, 68.0 for COCO 1600), mean of 5 runs. The fork
# is not in the stored copies, so its changes to mmseg's FCN config are not checked here; this
# config is mmseg's FCN R50-D8 VOC-aug 20k recipe (mmseg 1.x fcn_r50-d8_4xb4-20k_voc12aug-
# 512x512.py): 4 GPUs x 4 crops of 512 x 512 (scale 0.5-2 of 2048 x 512, cat_max_ratio 0.75,
# flip, PhotoMetricDistortion), FCN head (2 convs of 512, input concatenated, dropout 0.1) and an
# FCN auxiliary head on stage 3 (weight 0.4), SyncBN, SGD lr 0.01, momentum 0.9, weight decay
# 5e-4, poly 0.9 to 1e-4 over 20k iterations, validation every 2k, whole-image test at
# 2048 x 512.
# The backbone: data/weights/densecl_r50_200ep.pth, either
#   python tools/extract_backbone.py work_dirs/densecl_r50_8xb32-coslr-200e_in1k/iter_1000800.pth \
#       data/weights/densecl_r50_200ep.pth
# (configs/densecl/densecl_r50_8xb32-coslr-200e_in1k.py) or DenseCL's released ImageNet
# 200-epoch weights (the README's download link, torchvision keys) saved as RELEASED.pth:
#   python tools/convert_resnet.py RELEASED.pth data/weights/densecl_r50_200ep.pth \
#       --layout torchvision --depth 50
#
# Departures, and why:
# - The backbone is mmseg's ResNet (torchvision stem: one 7x7 conv), not the ResNetV1c (deep
#   stem) of mmseg's FCN R50-D8: DenseCL pretrains a torchvision ResNet-50, whose weights have
#   no deep stem. Dilations, strides and contract_dilation are mmseg's R50-D8 ones.
# - BN instead of SyncBN, so that single-process and CPU runs work, as every densecl config: on
#   4 GPUs `tools/dist_train.sh CONFIG 4 --cfg-options sync_bn=torch` for mmseg's SyncBN.
# - One VOC-aug dataset (configs/_base_/datasets/voc12_aug.py: SegmentationClassAug from
#   tools/convert_voc_aug.py, VOC's own labels where VOC has them) instead of mmseg's
#   concatenation of VOC train and its SBD-only aug list: the same 10,582 images.
# - Training images are checked for label values outside 0-20 and 255 (CheckSegLabels).
_base_ = [
    '../_base_/models/fcn_r50-d8.py', '../_base_/datasets/voc12_aug.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_20k.py'
]
crop_size = (512, 512)
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
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))
