"""A paper config made to train two iterations on a format fixture, for tests of the recipes.

Only what makes it small changes: data roots move from ``data/`` to the fixture folder, every
image size, crop and sliding window shrinks by ``factor``, the schedule stops (and evaluates)
after two iterations, workers run in-process and the ImageNet start is dropped (the weight
lookup has its own tests). Model, losses, optimiser, pipelines and evaluators stay the paper's.
"""
from mmengine.config import Config

from densecl.engine import init_options

SIZE_KEYS = ('scale', 'crop_size', 'size', 'stride')
TWO_VIEW_SIZE = 64  # pretraining crops (224) shrink to this


def _walk(node, visit):
    if isinstance(node, dict):
        for key in list(node):
            node[key] = visit(key, node[key])
            _walk(node[key], visit)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _walk(item, visit)


def _relocated(data_dir):
    def visit(key, value):
        if isinstance(value, str) and value.startswith('data/'):
            return f'{data_dir}/{value[len("data/"):]}'
        return value
    return visit


def _shrunk(factor):
    def visit(key, value):
        if isinstance(value, dict) and value.get('type') == 'TwoViewCrop':
            value['size'] = TWO_VIEW_SIZE
        if key in SIZE_KEYS and isinstance(value, (list, tuple)) and len(value) == 2 \
                and all(isinstance(v, int) for v in value):
            return tuple(max(16, v // factor) for v in value)
        return value
    return visit


def fixture_config(config, data_dir, work_dir, factor=16, iters=2, options=None):
    """``config`` loaded (with ``options`` merged) and made to run ``iters`` iterations on the
    fixtures in ``data_dir``; a checkpoint ``iter_<iters>.pth`` is written at the end."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options or {})
    cfg.merge_from_dict(init_options(cfg, 'scratch'))
    if cfg.model.get('pretrained'):
        cfg.model.pretrained = None
    _walk(cfg._cfg_dict, _relocated(data_dir))
    _walk(cfg._cfg_dict, _shrunk(factor))
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_iters = iters
    if cfg.train_cfg.get('val_interval') is not None:
        cfg.train_cfg.val_interval = iters
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=iters, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(name):
            cfg[name].num_workers = 0
            cfg[name].persistent_workers = False
    return cfg
