# The closed-set segmenter that RPL + CoroCL (Liu et al., ICCV 2023) freezes, for Cityscapes:
# mmseg's DeepLabV3+ R101-D8 recipe (configs/deeplabv3plus/deeplabv3plus_r101-d8_4xb2-80k_
# cityscapes-512x1024.py in mmseg 1.x, 80.97 val mIoU in its metafile): ResNet-101 V1c from
# open-mmlab://resnet101_v1c, output stride 8, depthwise-separable ASPP (rates 12, 24, 36) with
# the stride-4 decoder, FCN auxiliary head (weight 0.4), 4 GPUs x 2 crops of 512 x 1024, SGD lr
# 0.01, momentum 0.9, weight decay 5e-4, poly 0.9 to 1e-4 over 80k iterations, whole-image test.
#
# What the release does instead (yyliu01/RPL): it trains no closed-set model. Following
# Meta-OoD and PEBAL it loads NVIDIA's DeepLabV3+ with a WideResNet38 trunk (the sdcnet branch
# of NVIDIA/semantic-segmentation; docs/before_start.md, "checkpoints") from
# ckpts/pretrained_ckpts/cityscapes_best.pth (rpl_corocl.code/config/config.py,
# pretrained_weight_path; model/wide_network.py DeepWV3Plus). docs/result.md lists 82.46
# Cityscapes test mIoU for it; a comment in valid.py records 90.69 mIoU on val (sliding window
# with flip). WideResNet38 is not an mmseg backbone, so this is a departure: the frozen model
# here is mmseg's R101-D8, a weaker segmenter, and RPL's OoD scores depend on it.
#
# Departures from mmseg's recipe, and why:
# - BN instead of SyncBN, so that one CPU process runs it; on 4 GPUs use
#   `tools/dist_train.sh CONFIG 4 --cfg-options sync_bn=torch` for mmseg's SyncBN.
# - type AnomalyEncoderDecoder (training and checkpoint keys are EncoderDecoder's) and the test
#   set is Fishyscapes Lost & Found with the closed-set baseline map (max softmax probability,
#   Gaussian blur 7 / sigma 1 as RPL blurs its energy): `tools/test.py` reports AUROC / AP /
#   FPR95 (--cfg-options model.score=max_logit | energy for the other baselines). Cityscapes val
#   mIoU comes from validation (every 8k iterations); Fishyscapes Static:
#   --cfg-options test_dataloader.dataset.split=Static.
#
# The RPL configs take a checkpoint of this config through
# --cfg-options model.closed_set_checkpoint=PATH. Instead of training it, mmseg's model-zoo
# checkpoint of this recipe (deeplabv3plus_r101-d8_512x1024_80k_cityscapes_20200606_114143-
# 068fcfe9.pth) should fit, as its module names are those of this model (not tried offline;
# RPL refuses a checkpoint that misses a frozen key and names the keys).
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d8.py', '../_base_/datasets/cityscapes.py',
    '../_base_/datasets/fishyscapes.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]
crop_size = (512, 1024)
model = dict(
    type='AnomalyEncoderDecoder',
    score='msp',
    blur=dict(kernel_size=7, sigma=1.0),
    data_preprocessor=dict(size=crop_size),
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101))
max_iters = 80000
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=8000)
default_hooks = dict(checkpoint=dict(interval=8000))
test_dataloader = {{_base_.ood_test_dataloader}}
test_evaluator = {{_base_.ood_test_evaluator}}
