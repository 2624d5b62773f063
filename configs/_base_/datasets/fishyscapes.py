# Fishyscapes Lost & Found / Static validation in the layout RPL reads:
# data/fishyscapes/{LostAndFound,Static}/original/*.png with labels/*.png (0 inlier,
# 1 anomaly, 255 void). The labels are the samples' gt_sem_seg, for OoDMetric. Images
# keep their size, as RPL evaluates them. Meant as
# `test_dataloader = {{_base_.ood_test_dataloader}}`; Static with
# --cfg-options test_dataloader.dataset.split=Static.
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
        type='FishyscapesDataset',
        data_root='data/fishyscapes',
        split='LostAndFound',
        pipeline=ood_test_pipeline))
ood_test_evaluator = dict(_delete_=True, type='OoDMetric', anomaly_labels='gt_sem_seg')
