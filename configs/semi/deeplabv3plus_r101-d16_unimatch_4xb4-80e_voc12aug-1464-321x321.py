# UniMatch on PASCAL VOC 2012 aug with all 1,464 images of VOC's train set labelled (UniMatch's
# splits/pascal/1464: the other 9,118 of the 10,582 unlabelled), otherwise the 92 config
# (release, departures and the other splits: see there). README: 81.2 val mIoU; its logs
# (training-logs/Pascal-VOC-2012/High-Quality-Split-Size321/ResNet-101/1464-run{1,2,3}.log)
# reach 80.78 / 80.71 / 81.01 as best of epochs 0-78, 80.42 / 80.45 / 80.87 after the last.
#
# Epochs as iterations: 80 x floor(ceil(9,118 / 4) / 2) = 80 x 1,140 = 91,200 (1464-run1.log
# prints progress every 142 = 1,140 // 8 iterations).
_base_ = './deeplabv3plus_r101-d16_unimatch_4xb4-80e_voc12aug-92-321x321.py'
split = '1464'
iters_per_epoch = 1140
max_iters = 80 * iters_per_epoch
train_dataloader = dict(
    dataset=dict(
        labeled=dict(ann_file=f'splits/{split}/labeled.txt'),
        unlabeled=dict(ann_file=f'splits/{split}/unlabeled.txt')))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=iters_per_epoch)
default_hooks = dict(checkpoint=dict(interval=iters_per_epoch))
