"""Tiny pretraining configs shared by the self-supervised tests."""
import os.path as osp

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DENSECL_CONFIG = osp.join(ROOT, 'configs/densecl/densecl_r18-d16_300_toyscenes-64x64.py')
PIXPRO_CONFIG = osp.join(ROOT, 'configs/pixpro/pixpro-pixcontrast_r18-d16_300_toyscenes-64x64.py')

# A narrow ResNet-18 (64 output channels), 32 x 32 views, batch 2.
TINY = {
    'model.backbone.stem_channels': 16,
    'model.backbone.base_channels': 8,
    'model.neck.in_channels': 64,
    'model.neck.hid_channels': 32,
    'train_dataloader.batch_size': 2,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'train_dataloader.dataset.pipeline.1.size': 32,
    'default_hooks.logger.interval': 1,
}
TINY_DENSECL = {**TINY, 'model.queue_length': 8}
TINY_PIXPRO = {**TINY, 'model.neck.out_channels': 16, 'model.propagation.channels': 16}


def tiny_config(path, options, data_root, work_dir, max_iters):
    cfg = Config.fromfile(path)
    cfg.merge_from_dict({**options, 'train_dataloader.dataset.data_root': data_root})
    cfg.train_cfg.max_iters = max_iters
    cfg.param_scheduler[0].end = max_iters
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.checkpoint.max_keep_ckpts = 3
    cfg.work_dir = str(work_dir)
    return cfg


def cli_options(options):
    return [f'{key}={value}' for key, value in options.items()]
