"""Tiny versions of the configs/semi configs for few-iteration tests."""
import os.path as osp

from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from teacher_student_testing import ROOT, config_with_options, labelled_dataset_key
from teacher_student_testing import tiny_options as tiny_teacher_student_options

CONFIGS = {
    name: osp.join(ROOT, 'configs/semi',
                   f'deeplabv3plus_r18-d16_{name}_1k_toyscenes-1-16-128x128.py')
    for name in ('supervised', 'weak-to-strong', 'weak-to-strong-contrast', 'css-cross',
                 'css-mix', 'css-cross-allpix', 'css-cross-eval-teacher', 'unimatch',
                 'unimatch-ema-teacher', 'dssn', 'dssn-eval-teacher', 'dssn-teacher-fp',
                 'dssn-agree-mse')
}


def tiny_options(config, data_root, iters=3):
    """The shared tiny options, the 1/2 split, and the semi configs' auxiliary heads."""
    cfg = Config.fromfile(config)
    options = tiny_teacher_student_options(cfg, data_root, iters)
    options[f'{labelled_dataset_key(cfg)}.ann_file'] = 'splits/train_1-2.txt'
    aux = 'model.segmentor.auxiliary_head'
    if isinstance(cfg.model.segmentor.auxiliary_head, list):  # FCN head + ContrastHead
        options.update({f'{aux}.0.in_channels': 32, f'{aux}.0.channels': 8,
                        f'{aux}.1.in_channels': '[16,32,64]', f'{aux}.1.channels': 16})
    else:
        options.update({f'{aux}.in_channels': 32, f'{aux}.channels': 8})
    if 'rampdown_iters' in cfg.model:
        options['model.rampdown_iters'] = iters
    return options


def tiny_config(config, data_root, work_dir, iters=3):
    return config_with_options(config, tiny_options(config, data_root, iters), work_dir)


def build_model(name, root, work_dir, **options):
    """The tiny training-mode segmentor of config ``name``, with ``options`` on its model."""
    init_default_scope('mmseg')
    cfg = tiny_config(CONFIGS[name], root, str(work_dir))
    cfg.model.update(options)
    return MODELS.build(cfg.model).train()


def set_iter(value):
    """Make ``value`` the training iteration the models read from the message hub."""
    MessageHub.get_current_instance().update_info('iter', value)
