# RPL + CoroCL (Liu et al., ICCV 2023) as released: RPL plus one 1x1 conv
# projecting the residual block's hidden features, contrasted by CoroCLLoss
# (weight 1.0, cos / 0.1): n = min(512, smallest pool) random pixels from each
# of four pools, inliers and outliers of the pasted train images (the paper's
# Cityscapes) and of outlier-context images (its COCO images: here the outlier
# crop as the whole image, its black surround the context inliers). The
# release pairs each batch of 8 scene images with 8 COCO images; here a batch
# of 16 samples is a context image with probability 0.5. Context images only
# enter CoroCL, as released.
_base_ = ['./deeplabv3plus_r18-d16_rpl_500_toyscenes-128x128.py']
model = dict(loss_corocl=dict(type='CoroCLLoss', temperature=0.1, max_views=512,
                              loss_weight=1.0))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(128, 128), cat_max_ratio=0.9),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PasteOutliers', outlier_root='data/toyscenes/outliers', prob=1.0,
         scale=(0.2, 0.5), outlier_label={{_base_.outlier_label}}, context_prob=0.5,
         context_label=0),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs',
         meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                    'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label',
                    'outlier_context'))
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
