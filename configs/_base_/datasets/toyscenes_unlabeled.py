# toyscenes' unlabeled split for self-supervised pretraining: two random resized
# crops per image, each maybe flipped and colour-distorted; the crop boxes and flips
# travel with the views (PixPro pairs pixels by them). Any folder of images works:
# set data_root and data_prefix.img_path.
dataset_type = 'UnlabeledImageFolder'
data_root = 'data/toyscenes'
view_size = 64
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TwoViewCrop',
        size=view_size,
        scale=(0.3, 1.0),
        flip_prob=0.5,
        view_pipeline=[dict(type='PhotoMetricDistortion')]),
    dict(type='PackTwoViewInputs')
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    # seeds each sample's views from its draw: a resumed run repeats them
    sampler=dict(type='SeededInfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/unlabeled'),
        pipeline=train_pipeline))
