# UniMatch (Yang et al., CVPR 2023) on Cityscapes with 1/16 of train labelled (UniMatch's
# splits/cityscapes/1_16: 186 labelled, 2,789 unlabelled), DeepLabV3+ ResNet-101 at output
# stride 16, crop 801, as its release trains it (LiheYoung/UniMatch: unimatch.py with
# configs/cityscapes.yaml on 4 GPUs). README: 76.6 val mIoU; training-logs/Cityscapes/
# ResNet-101/1_16.log reaches 76.59 best of epochs.
#
# The release (configs/cityscapes.yaml, confirmed by the settings 1_16.log prints): crop 801,
# 240 epochs, batch 2 labelled + 2 unlabelled per GPU on 4 GPUs, SGD lr 0.005 for every
# parameter (lr_multi 1), momentum 0.9, weight decay 1e-4, poly 0.9 to 0; labelled loss
# ProbOhemCrossEntropy2d(thresh 0.7, min_kept 200,000 per GPU batch of 2 images): pixels whose
# probability of their label is <= max(0.7, the min_kept-th smallest) are kept and the CE is
# averaged over them; conf_thresh 0 (every weak-view pixel is a pseudo-label: the README says the
# threshold was changed from 0.95 to 0 and the output stride from 8 to 16 after arXiv v1, so the
# 0.95 of the paper's text is not the released setting); validation after every epoch over the
# 500 val images at 2048 x 1024 with a sliding 801 x 801 window moved by int(801 * 2 / 3) = 534,
# softmax summed where windows overlap.
# Model, step and their departures: configs/_base_/semi_unimatch_r101-d16.py; data and its
# departures: configs/_base_/semi_cityscapes.py. Departures of this config, and why:
# - OHEM: mmseg's OHEMPixelSampler(thresh=0.7, min_kept=100,000 per image = 200,000 per GPU batch
#   of 2) keeps the same pixels (probability < the threshold), but mmseg's CE with
#   avg_non_ignore averages the kept pixels' loss over all non-ignored pixels, the release over
#   the kept ones: L_x is smaller by the kept share (>= 100,000 / 641,601 per full crop) and the
#   unlabelled losses weigh relatively more. mmseg has no loss that averages over the kept pixels.
# - Sliding window: mmseg's slide inference (crop 801, stride 534) shifts the last row and column
#   of windows to end at the image border and averages logits; the release's windows start at
#   0, 534, 1068, 1602 and are cut at the border, and it sums softmax probabilities. The same
#   window size and stride, slightly different overlaps.
#
# Epochs as iterations (UniMatch counts an epoch over the unlabelled loader):
#   iterations = 240 x floor(ceil(2,789 / 4) / 2) = 240 x 349 = 83,760
# (1_16.log prints progress every 43 = 349 // 8 iterations; its last epoch starts at lr
# 0.00004). Validation and the best-checkpoint check every epoch (349 iterations), as released.
#
# Other splits: --cfg-options train_dataloader.dataset.labeled.ann_file=splits/<S>/labeled.txt
#   train_dataloader.dataset.unlabeled.ann_file=splits/<S>/unlabeled.txt train_cfg.max_iters=<N>
#   param_scheduler.0.end=<N> train_cfg.val_interval=<E> default_hooks.checkpoint.interval=<E>
# with (<S>: <E>, <N> = 240 <E>): 1_8: 325, 78,000; 1_4: 279, 66,960; 1_2: 186, 44,640
# (unlabelled 2,603 / 2,231 / 1,487). README: 77.9, 79.2, 79.5.
_base_ = ['../_base_/semi_cityscapes.py', '../_base_/semi_unimatch_r101-d16.py']
crop_size = (801, 801)
num_classes = 19
iters_per_epoch = 349
max_iters = 240 * iters_per_epoch
model = dict(
    data_preprocessor=dict(size=crop_size),
    conf_thresh=0.0,
    segmentor=dict(
        decode_head=dict(
            num_classes=num_classes,
            sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=100000)),
        test_cfg=dict(mode='slide', crop_size=crop_size, stride=(534, 534))))
optim_wrapper = dict(
    optimizer=dict(lr=0.005),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=1.0)}))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=iters_per_epoch)
default_hooks = dict(checkpoint=dict(interval=iters_per_epoch))
