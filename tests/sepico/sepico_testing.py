"""Tiny versions of the configs/sepico configs for few-iteration tests."""
import ast
import os.path as osp

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NAMES = ('source-only', 'self-training', 'sepico-proto', 'sepico-bank', 'sepico-dist')
CONFIGS = {
    name: osp.join(ROOT, 'configs/sepico',
                   f'deeplabv3plus_r18-d16_{name}_1k_toyscenes-source2target-128x128.py')
    for name in NAMES
}
CROP = '(32,32)'


def tiny_options(config, data_root, iters=3):
    """--cfg-options that shrink ``config`` to a narrow net, 32 x 32 crops and tiny batches."""
    cfg = Config.fromfile(config)
    adapting = cfg.train_dataloader.dataset.type == 'DomainAdaptationDataset'
    source = 'train_dataloader.dataset.source' if adapting else 'train_dataloader.dataset'
    options = {
        'model.segmentor.backbone.stem_channels': 16,
        'model.segmentor.backbone.base_channels': 8,
        'model.segmentor.decode_head.in_channels': 64,
        'model.segmentor.decode_head.channels': 16,
        'model.segmentor.decode_head.c1_in_channels': 8,
        'model.segmentor.decode_head.c1_channels': 4,
        'model.data_preprocessor.size': CROP,
        'train_dataloader.batch_size': 4 if adapting else 2,
        f'{source}.data_root': data_root,
        f'{source}.pipeline.4.crop_size': CROP,
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'param_scheduler.0.end': iters,
        'default_hooks.checkpoint.interval': iters,
        'default_hooks.logger.interval': 1,
    }
    if 'auxiliary_head' in cfg.model.segmentor:
        options.update({'model.segmentor.auxiliary_head.in_channels': 16,
                        'model.segmentor.auxiliary_head.channels': 8})
    if adapting:
        options.update({'train_dataloader.sampler.batch_size': 4,
                        'train_dataloader.sampler.num_labeled': 2,
                        'train_dataloader.dataset.target.data_root': data_root,
                        'train_dataloader.dataset.target.pipeline.2.crop_size': CROP})
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options[f'{loader}.num_workers'] = 0
        options[f'{loader}.persistent_workers'] = False
    return options


def tiny_config(config, data_root, work_dir, iters=3):
    """``config`` with :func:`tiny_options` applied, as a Config for Runner.from_cfg."""
    cfg = Config.fromfile(config)
    literal = ('(', '[')  # crop sizes are given as command-line text
    cfg.merge_from_dict({key: ast.literal_eval(value) if str(value).startswith(literal) else value
                         for key, value in tiny_options(config, data_root, iters).items()})
    cfg.work_dir = work_dir
    return cfg
