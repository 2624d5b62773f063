# Pretraining schedule: AdamW with cosine decay, no validation (nothing to score).
# AdamW rather than the papers' SGD/LARS: short CPU schedules from scratch train
# better with it (see configs/quickstart); every method gets the same schedule.
max_iters = 300
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False,
         begin=0, end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=200, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    iter_seed=dict(type='IterSeedHook'))
