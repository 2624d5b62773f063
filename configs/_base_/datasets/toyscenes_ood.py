# toyscenes ood_val for OoD evaluation: each sample names its anomaly mask
# (anomaly_path) for OoDMetric. Meant as `test_dataloader = {{_base_.ood_test_dataloader}}`
# next to the toyscenes dataset base, whose val split stays the mIoU check.
ood_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs',
         meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                    'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label',
                    'anomaly_path'))
]
ood_test_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ToyScenesOoDDataset',
        data_root='data/toyscenes',
        pipeline=ood_test_pipeline))
ood_test_evaluator = dict(_delete_=True, type='OoDMetric')
