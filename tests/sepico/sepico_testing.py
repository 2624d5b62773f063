"""Tiny versions of the configs/sepico configs for few-iteration tests."""
import os.path as osp

from mmengine.config import Config

from teacher_student_testing import ROOT, config_with_options
from teacher_student_testing import tiny_options as tiny_teacher_student_options

NAMES = ('source-only', 'self-training', 'sepico-proto', 'sepico-bank', 'sepico-dist',
         'sepico-proto-eval-teacher', 'sepico-proto-decoder-proj')
CONFIGS = {
    name: osp.join(ROOT, 'configs/sepico',
                   f'deeplabv3plus_r18-d16_{name}_1k_toyscenes-source2target-128x128.py')
    for name in NAMES
}


def tiny_options(config, data_root, iters=3):
    """The shared tiny options and the SePiCo configs' projection head, where there is one."""
    cfg = Config.fromfile(config)
    options = tiny_teacher_student_options(cfg, data_root, iters)
    if 'auxiliary_head' in cfg.model.segmentor:
        # the tiny decoder's channels, or the tiny backbone's C5 channels
        in_channels = 16 if cfg.model.contrast_features == 'decoder' else 64
        options.update({'model.segmentor.auxiliary_head.in_channels': in_channels,
                        'model.segmentor.auxiliary_head.channels': 8,
                        'model.contrast_start_iter': 1})  # off at the first iteration
    return options


def tiny_config(config, data_root, work_dir, iters=3):
    return config_with_options(config, tiny_options(config, data_root, iters), work_dir)
