# ImageNet-1k train images for self-supervised pretraining (labels unused), in the official
# layout data/imagenet/train/<wnid>/<wnid>_<n>.JPEG (ILSVRC2012_img_train.tar with each
# class tar unpacked into its wnid folder). The folder is walked at start-up; a list file
# such as mmpretrain's meta/train.txt is faster on network disks:
#   train_dataloader = dict(dataset=dict(ann_file='meta/train.txt'))
# The pipeline is a generic two-view placeholder (224 x 224 random resized crops, each maybe
# flipped and colour-distorted, crop boxes kept for PixPro); method configs replace it with
# their paper's augmentation: train_dataloader = dict(dataset=dict(pipeline=[...])).
dataset_type = 'ImageNetList'
data_root = 'data/imagenet'
view_size = 224
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TwoViewCrop',
        size=view_size,
        scale=(0.2, 1.0),
        flip_prob=0.5,
        view_pipeline=[dict(type='PhotoMetricDistortion')]),
    dict(type='PackTwoViewInputs')
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    # seeds each sample's views from its draw: a resumed run repeats them
    sampler=dict(type='SeededInfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='train'),
        pipeline=train_pipeline))
