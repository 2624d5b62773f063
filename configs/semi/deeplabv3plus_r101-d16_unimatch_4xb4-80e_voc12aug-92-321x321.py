# UniMatch (Yang et al., CVPR 2023) on PASCAL VOC 2012 aug, 92 labelled images (UniMatch's
# splits/pascal/92: 92 labelled of VOC's train set, the other 10,490 of the 10,582 unlabelled),
# DeepLabV3+ ResNet-101 at output stride 16, crop 321, as its release trains it
# (LiheYoung/UniMatch: unimatch.py with configs/pascal.yaml and scripts/train.sh on 4 GPUs).
# README: 75.2 val mIoU. Its three logs (training-logs/Pascal-VOC-2012/High-Quality-Split-
# Size321/ResNet-101/92-run{1,2,3}.log) reach 75.46 / 74.78 / 74.74 as best of epochs 0-78 and
# 74.81 / 74.11 / 74.53 after the last epoch.
#
# The release (configs/pascal.yaml): crop 321, 80 epochs, batch 2 labelled + 2 unlabelled per
# GPU on 4 GPUs, SGD lr 0.001 (backbone) and 0.01 (head: lr_multi 10), momentum 0.9, weight
# decay 1e-4, poly 0.9 to 0, CE loss, conf_thresh 0.95, evaluation on val after every epoch.
# Model, step and their departures: configs/_base_/semi_unimatch_r101-d16.py; data and its
# departures: configs/_base_/semi_voc12aug.py.
#
# Epochs as iterations (UniMatch counts an epoch over the unlabelled loader):
#   iterations = epochs x floor(ceil(unlabelled / GPUs) / batch)
#              = 80 x floor(ceil(10,490 / 4) / 2) = 80 x 1,311 = 104,880
# (92-run1.log prints progress every 163 = 1,311 // 8 iterations). Validation and the
# best-checkpoint check every epoch (1,311 iterations), as the release.
#
# Other VOC splits: the 1464 config shows what changes. For 183 / 366 / 732 (UniMatch's other
# high-quality splits) and 1/16 / 1/8 / 1/4 (662 / 1,323 / 2,646 labelled, its "blended"
# splits, also trained at 321 in training-logs/Pascal-VOC-2012/Blended-Split-Size321):
#   --cfg-options train_dataloader.dataset.labeled.ann_file=splits/<S>/labeled.txt \
#     train_dataloader.dataset.unlabeled.ann_file=splits/<S>/unlabeled.txt \
#     train_cfg.max_iters=<N> param_scheduler.0.end=<N> train_cfg.val_interval=<E> \
#     default_hooks.checkpoint.interval=<E>
# with (<S>: <E> iterations per epoch, <N> = 80 <E>): 183: 1,300, 104,000; 366: 1,277, 102,160;
# 732: 1,231, 98,480; 1464: 1,140, 91,200; 1_16: 1,240, 99,200; 1_8: 1,157, 92,560;
# 1_4: 992, 79,360 (from the published unlabelled counts 10,399 / 10,216 / 9,850 / 9,118 /
# 9,920 / 9,259 / 7,936). README: 183 77.2, 366 78.8, 732 79.9, 1464 81.2.
_base_ = ['../_base_/semi_voc12aug.py', '../_base_/semi_unimatch_r101-d16.py']
crop_size = (321, 321)
iters_per_epoch = 1311
max_iters = 80 * iters_per_epoch
model = dict(data_preprocessor=dict(size=crop_size))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=iters_per_epoch)
default_hooks = dict(checkpoint=dict(interval=iters_per_epoch))
