# SegmentMeIfYouCan validation frames: the release folders dataset_AnomalyTrack
# (RoadAnomaly21) and dataset_ObstacleTrack (RoadObstacle21) unpacked into data/smiyc,
# each with images/ and labels_masks/ (0 inlier, 1 anomaly, 255 void; off-road void on
# the obstacle track). The labels are the samples' gt_sem_seg, for OoDMetric; images keep
# their size. Meant as `test_dataloader = {{_base_.ood_test_dataloader}}`; the obstacle
# track with --cfg-options test_dataloader.dataset.track=obstacle.
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
        type='SMIYCDataset',
        data_root='data/smiyc',
        track='anomaly',
        pipeline=ood_test_pipeline))
ood_test_evaluator = dict(_delete_=True, type='OoDMetric', anomaly_labels='gt_sem_seg')
