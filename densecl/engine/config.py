"""Load a densecl config for the tools and reject ones written for another
MM stack, or overrides that would silently add keys, before a Runner is
built."""
import difflib
import inspect
import os.path as osp

from mmengine.config import Config
from mmengine.runner import Runner

# Top-level keys of MMSegmentation 0.x / mmcv 1.x configs, which mmengine's
# Runner would silently ignore, and what replaces each of them in mmseg 1.x.
LEGACY_KEYS = {
    'runner': 'train_cfg=dict(type=IterBasedTrainLoop, max_iters=...)',
    'lr_config': 'param_scheduler',
    'optimizer_config': 'optim_wrapper',
    'checkpoint_config': 'default_hooks.checkpoint',
    'log_config': 'default_hooks.logger',
    'evaluation': 'val_cfg, val_evaluator and train_cfg.val_interval',
    'workflow': 'train_cfg / val_cfg',
    'data': 'train_dataloader / val_dataloader / test_dataloader',
    'dist_params': 'env_cfg.dist_cfg',
}

REQUIRED_KEYS = ('model', 'default_scope', 'custom_imports')

# Top-level keys the Runner reads with cfg.get() besides its __init__
# arguments, so a config may lack them and --cfg-options may still add them.
RUNNER_OPTIONAL_KEYS = ('sync_bn', 'model_wrapper_cfg',
                        'find_unused_parameters', 'activation_checkpointing',
                        'efficient_conv_bn_eval', 'compile')


def check_config(cfg):
    """Raise ``ValueError`` naming the keys when ``cfg`` is not a densecl
    MMSegmentation 1.x config."""
    legacy = [key for key in LEGACY_KEYS if key in cfg]
    if legacy:
        raise ValueError(
            'config keys belong to MMSegmentation 0.x / mmcv 1.x and would be '
            'ignored by mmengine: ' + '; '.join(
                f'{key!r} (use {LEGACY_KEYS[key]})' for key in legacy))
    for key in REQUIRED_KEYS:
        if key not in cfg:
            raise ValueError(f'config key {key!r} is missing; inherit '
                             "configs/_base_/default_runtime.py")
    if cfg.default_scope != 'mmseg':
        raise ValueError(f"config key 'default_scope' is "
                         f"{cfg.default_scope!r}; densecl needs 'mmseg'")
    imports = cfg.custom_imports.get('imports', [])
    if 'densecl' not in imports:
        raise ValueError("config key 'custom_imports' must import 'densecl' "
                         'so that its datasets and models are registered')
    _check_semi_batch(cfg)


def _check_semi_batch(cfg):
    """SemiSupervisedSampler composes batches of its own ``batch_size``: it must be the
    dataloader's, or labelled and unlabelled images shift between batches."""
    loader = cfg.get('train_dataloader') or {}
    sampler = loader.get('sampler') or {}
    if sampler.get('type') == 'SemiSupervisedSampler' and \
            sampler.get('batch_size') != loader.get('batch_size'):
        raise ValueError(f"train_dataloader.sampler.batch_size={sampler.get('batch_size')} "
                         f"differs from train_dataloader.batch_size={loader.get('batch_size')}; "
                         'SemiSupervisedSampler needs the same value in both')


def check_cfg_options(cfg, cfg_options):
    """Raise ``ValueError`` when an override's top-level key is neither in
    ``cfg`` nor read by the Runner: a typo would otherwise become a new,
    unused key while training runs with the config's value."""
    known = set(cfg.keys()) | set(RUNNER_OPTIONAL_KEYS) | set(
        inspect.signature(Runner.__init__).parameters) - {'self'}
    for option in cfg_options:
        top = option.split('.')[0]
        if top not in known:
            close = difflib.get_close_matches(top, sorted(known), n=1)
            hint = f'; did you mean {close[0]!r}?' if close else ''
            raise ValueError(f'--cfg-options {option}: the config has no key '
                             f'{top!r}{hint}')


class TextOnceConfig(Config):
    """A Config that formats its text once per content.

    mmengine formats the whole config with yapf whenever it logs it, dumps it or
    stores it in a checkpoint (~0.35 s each on this CPU, five times in a
    two-iteration run); the text only changes when the content does."""

    @classmethod
    def of(cls, cfg):
        """``cfg`` (a Config) as a TextOnceConfig sharing its content."""
        other = cls.__new__(cls)
        other.__dict__.update(cfg.__dict__)
        return other

    @property
    def pretty_text(self):
        content = repr(self.to_dict())
        cached = self.__dict__.get('_pretty_text_of')
        if cached is None or cached[0] != content:
            cached = (content, super().pretty_text)
            object.__setattr__(self, '_pretty_text_of', cached)  # not a config key
        return cached[1]


def load_config(path, cfg_options=None, work_dir=None, launcher='none'):
    """Read ``path``, apply command-line overrides, check it and set the
    work_dir (command line > config > ``./work_dirs/<config name>``)."""
    cfg = TextOnceConfig.of(Config.fromfile(path))
    cfg.launcher = launcher
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    check_config(cfg)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg
