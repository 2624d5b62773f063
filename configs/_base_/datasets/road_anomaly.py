# Road Anomaly (Lis et al., ICCV 2019) for OoD evaluation. variant='preprocessed':
# data/road_anomaly/original/*.jpg with labels/*.png (0/1), as RPL reads (or images/ with
# labels_masks/); variant='raw': the release RoadAnomaly_jpg.zip unpacked into
# data/road_anomaly (frame_list.json, frames/), its anomaly label 2 mapped to 1 and road to
# 0. The labels are the samples' gt_sem_seg, for OoDMetric; images keep their size. Meant
# as `test_dataloader = {{_base_.ood_test_dataloader}}`; the release with
# --cfg-options test_dataloader.dataset.variant=raw.
ood_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
ood_test_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='RoadAnomalyDataset',
        data_root='data/road_anomaly',
        variant='preprocessed',
        pipeline=ood_test_pipeline))
ood_test_evaluator = dict(_delete_=True, type='OoDMetric', anomaly_labels='gt_sem_seg')
