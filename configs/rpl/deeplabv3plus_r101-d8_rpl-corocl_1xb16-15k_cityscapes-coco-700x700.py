# RPL + CoroCL (Liu et al., "Residual Pattern Learning for Pixel-wise Out-of-Distribution
# Detection in Semantic Segmentation", ICCV 2023) on Cityscapes with COCO outliers, as released
# (yyliu01/RPL, rpl_corocl.code/), tested on Fishyscapes Lost & Found.
#
# The release (file: fact):
# - config/config.py: lr 7.5e-5 (docs/before_start.md says 7.5e-6; the code runs 7.5e-5),
#   batch_size 8, Cityscapes and COCO crops 700 x 700, nepochs 40 x niters_per_epoch 2975 // 8 =
#   371 = 14,840 iterations, lr_power 0.9, no warm-up, energy_weight 0.05, outlier label 254,
#   ood_train_scale_array [.25, .5, .5, .75, .1, .125], ImageNet mean / std, seed 666, 8 workers,
#   measure_way 'energy'. Its weight_decay 1e-4 and momentum 0.9 are not used (below).
# - main.py, utils/conv_2_5d.py group_weight: Adam (default betas, no weight decay: the groups
#   set none) over the residual block only: its random 1x1 conv (retrain_layers) at 10 x lr, the
#   ASPP copy, its bottleneck and the CoroCL projection (fine_tune_layers) at lr;
#   engine/lr_policy.py WarmUpPolyLR: lr (1 - it / 14840)^0.9, floored at 1e-8. One GPU (an
#   A6000, docs/before_start.md).
# - model/wide_network.py, utils/pyt_utils.py load_model: the frozen closed-set DeepLabV3+
#   WideResNet38 (see the closed-set config); the residual block is a trained copy of its ASPP
#   and 1x1 bottleneck, upsampled to stride 4, then a Kaiming 1x1 conv without bias (256 -> 304)
#   added to the input of the frozen final layers; out1 / out2 are the logits without / with it.
#   CoroCL projects the upsampled block features with one 1x1 conv (Kaiming, zero bias).
# - dataset/data_loader.py, cityscapes_coco.py, training/coco.py: a Cityscapes train image at
#   full resolution, flipped with probability 0.8 (random_mirror flips when random() >= 0.2),
#   random 700 x 700 crop; no rescaling, no colour jitter. A random COCO image of Meta-OoD's
#   selection (tools/make_coco_outliers.py builds the same bank; a random 2975 of them each
#   epoch) is scaled by a random entry of the scale array, and the bounding box of its object
#   mask is pasted at a random place of the crop, object pixels labelled 254. The unscaled COCO
#   image, padded to 700 x 700 (pad label 255), is the batch's context image (0 inlier, 254
#   object). dataset/mix_ood_sampler.py: every batch is pasted (--prob 1); on one GPU the
#   Cityscapes order is sequential (SequentialSampler is picked when shuffle=True).
# - engine/trainer.py: one forward of 8 pasted crops + their 8 COCO images; on the crops,
#   loss/PositiveEnergy.py: CE(out2, argmax out1) + MSE of the softmax entropies on labelled
#   non-outlier pixels, plus 0.05 x mean ReLU(logsumexp out2) on outlier pixels (margin 0);
#   loss/CoroCL.py (weight 1, temperature 0.1): n = min(512, smallest pool) random pixels of
#   each pool (crop inliers / outliers are the anchors, COCO inliers / outliers extra keys), over
#   the crops that received outlier pixels and their COCO partners; a step where a GPU has fewer
#   than 2 such crops runs without the COCO half and CoroCL. Closed-set modules in eval mode.
# - valid.py: anomaly map -logsumexp(out2) of the whole image at its size, Gaussian blur 7,
#   sigma 1, pixels pooled per test set; SMIYC anomaly / obstacle, Fishyscapes Static and L&F
#   and Road Anomaly are evaluated every 185 iterations from epoch 5 on, with a checkpoint each
#   time, to "choose the potential best model" (docs/result.md); SMIYC's reported numbers come
#   from the benchmark's own code.
#
# Here: RPLEncoderDecoder on the frozen closed-set model, RPLInlierLoss + OutlierEnergyLoss
# (0.05, margin 0) + CoroCLLoss (weight 1, T 0.1, 512 per pool), PasteOutliers on the COCO bank
# data/coco_outliers (python tools/make_coco_outliers.py --coco data/coco --out
# data/coco_outliers), Adam 7.5e-5 without weight decay with 10 x lr on residual_block.final,
# poly 0.9 over 14,840 iterations ("15k" in the name), seed 666, energy map blurred 7 / 1,
# whole-image test at the native size, OoDMetric pooled over the test set.
#
# The closed-set checkpoint: model.closed_set_checkpoint (not load_from: RPL loads it when the
# model is initialised and then copies its ASPP and bottleneck into the residual block; a
# checkpoint missing a frozen key is refused with the keys named). Default: the last
# checkpoint of deeplabv3plus_r101-d8_closed-set_4xb2-80k_cityscapes-512x1024.py; your own, e.g.
# mmseg's model-zoo file of that recipe: --cfg-options model.closed_set_checkpoint=PATH.
#
# Departures, and why:
# - Closed-set model: mmseg's DeepLabV3+ R101-D8 instead of NVIDIA's WideResNet38 (not in
#   mmseg), so the block copies mmseg's head: depthwise-separable ASPP, a 3x3 conv-BN-ReLU
#   bottleneck of 512 channels (the release: 1x1 conv, 256), residual and projection width 560
#   (512 + 48 low-level channels; the release 304), align_corners=False (the release True).
#   No ImageNet start (model.pretrained=None): every frozen weight comes from the checkpoint.
# - Batch: 16 samples on one GPU, each a COCO context image with probability 0.5
#   (PasteOutliers context_prob), so 8 + 8 on average rather than exactly 8 pasted crops plus
#   their 8 COCO partners: densecl has one dataset pipeline, no paired loader. CoroCL uses every
#   context image of the batch (not only partners of crops with outliers), and there is no
#   "2 outlier crops per GPU" skip.
# - Context image: the COCO image resized (stretched) to 700 x 700, its non-object pixels
#   inlier context (0), not padded with ignored pixels: PasteOutliers' only context mode.
# - Paste size: the COCO image's longer side a uniform fraction 0.09-0.69 of the 700 crop
#   (PasteOutliers takes a range), not one of the release's six factors of its native size
#   (0.1-0.75 x a 640-pixel COCO side = 0.09-0.69 of 700); the scaled image stays inside the
#   crop (the release only keeps the object's bounding box inside). Images are drawn from the
#   whole bank, not a 2975-image subset per epoch.
# - Order: shuffled (InfiniteSampler), not the single-GPU release's sequential order.
# - PolyLR: mmseg's (lr - 1e-8) (1 - t / T)^0.9 + 1e-8 per group instead of the release's
#   floor at 1e-8 (1e-7 on the 10 x group): a difference only in the last iterations.
# - No model selection on the test sets: one validation at the end (Cityscapes val mIoU, equal
#   to the closed-set model's by construction) and a checkpoint every 1,855 iterations (5
#   release epochs); test the last one.
#
# Test sets: Fishyscapes L&F here; Fishyscapes Static with
# --cfg-options test_dataloader.dataset.split=Static; Road Anomaly and SMIYC (anomaly track;
# obstacle track with --cfg-options test_dataloader.dataset.track=obstacle) with the child
# configs ..._test-roadanomaly.py and ..._test-smiyc.py and this config's checkpoint.
_base_ = ['./deeplabv3plus_r101-d8_closed-set_4xb2-80k_cityscapes-512x1024.py']
closed_set_checkpoint = \
    'work_dirs/deeplabv3plus_r101-d8_closed-set_4xb2-80k_cityscapes-512x1024/iter_80000.pth'
crop_size = (700, 700)
outlier_label = 254
model = dict(
    type='RPLEncoderDecoder',
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    closed_set_checkpoint=closed_set_checkpoint,
    outlier_index=outlier_label,
    score='energy',
    blur=dict(kernel_size=7, sigma=1.0),
    decode_head=dict(type='SepASPPFeatureHead'),
    auxiliary_head=None,
    loss_inlier=dict(type='RPLInlierLoss', entropy_weight=1.0),
    loss_outlier=dict(type='OutlierEnergyLoss', margin=0.0, loss_weight=0.05),
    loss_corocl=dict(type='CoroCLLoss', temperature=0.1, max_views=512, loss_weight=1.0))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.8),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PasteOutliers', outlier_root='data/coco_outliers', prob=1.0, scale=(0.09, 0.69),
         outlier_label=outlier_label, context_prob=0.5, context_label=0),
    dict(type='PackSegInputs',
         meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                    'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label',
                    'outlier_context'))
]
train_dataloader = dict(batch_size=16, num_workers=8, dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='Adam', lr=7.5e-5, weight_decay=0.0),
    paramwise_cfg=dict(custom_keys={'residual_block.final': dict(lr_mult=10.0)}))
max_iters = 14840
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-8, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=1855))
randomness = dict(seed=666)
