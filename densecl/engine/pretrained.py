"""The pretrained backbone a config starts from: find it, check it before training, switch it.

The toyscenes model bases start ResNet-18 V1c from ``data/pretrained/`` (``make pretrained``,
procedural ImageNet) as the papers start from ImageNet; the paper configs start from named
ImageNet weights (``open-mmlab://``, ``torchvision://``), found offline by
:func:`resolve_weights`. mmengine's ``Pretrained`` init loads non-strictly and only when the
model is initialised, after the datasets are built; these checks run first and name the file,
the missing keys and the command that writes it.
"""
import os.path as osp

from mmengine.runner import CheckpointLoader
from mmseg.registry import MODELS

from .checkpoint import state_dict_mismatch
from .model_zoo import resolve_weights, weights_dir

MAKE_PRETRAINED = 'make pretrained'


def pretrained_inits(cfg, path='model'):
    """``(dotted path, module config)`` of every module under ``cfg`` (a model config) whose
    ``init_cfg`` is ``Pretrained``, e.g. ``('model.segmentor.backbone', {...})``."""
    found = []
    if isinstance(cfg, (list, tuple)):
        for index, item in enumerate(cfg):
            found += pretrained_inits(item, f'{path}.{index}')
    elif isinstance(cfg, dict):
        init = cfg.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            found.append((path, cfg))
        for key, value in cfg.items():
            if key != 'init_cfg':
                found += pretrained_inits(value, f'{path}.{key}')
    return found


def _pretrained_to_init_cfg(cfg, path='model'):
    """Turn every ``pretrained=NAME`` of a model config into its ``Pretrained`` init_cfg, as mmseg
    does when it builds the model (an EncoderDecoder hands it to its backbone)."""
    if isinstance(cfg, (list, tuple)):
        for index, item in enumerate(cfg):
            _pretrained_to_init_cfg(item, f'{path}.{index}')
        return
    if not isinstance(cfg, dict):
        return
    if isinstance(cfg.get('pretrained'), str):
        resolve_weights(cfg['pretrained'], f'{path}.pretrained')  # its error names this key
        target = cfg['backbone'] if isinstance(cfg.get('backbone'), dict) else cfg
        if target.get('init_cfg') is not None:
            raise ValueError(f'{path}.pretrained and the init_cfg of the module it starts are '
                             f'both set; keep one')
        target['init_cfg'] = dict(type='Pretrained', checkpoint=cfg['pretrained'])
        cfg['pretrained'] = None
    for key, value in cfg.items():
        if key != 'init_cfg':
            _pretrained_to_init_cfg(value, f'{path}.{key}')


def resolve_pretrained(cfg):
    """Point every pretrained start of ``cfg.model`` at a local file and check that it fits its
    module, in place and before any data loading.

    Named weights resolve through :func:`resolve_weights`; other URL schemes (``s3://``) are
    left to mmengine. A local file must hold every key of its module in the same shape; a
    project file (``make pretrained``) must hold no other key, a named ImageNet file may (its
    classifier).

    Raises:
        FileNotFoundError: naming the file and ``make pretrained`` or the weights folder, and
            the override.
        ValueError: naming the missing, unexpected and mis-shaped keys.
    """
    _pretrained_to_init_cfg(cfg.model)
    for path, module in pretrained_inits(cfg.model):
        init = module['init_cfg']
        checkpoint = init.get('checkpoint')
        if not isinstance(checkpoint, str):
            continue
        init['checkpoint'] = resolve_weights(checkpoint, f'{path}.init_cfg.checkpoint')
        named = init['checkpoint'] != checkpoint
        checkpoint = init['checkpoint']
        if '://' in checkpoint:
            continue
        if not osp.isfile(checkpoint):
            how = (f'Run `{MAKE_PRETRAINED}` to write the procedural-ImageNet backbone'
                   if not osp.abspath(checkpoint).startswith(osp.abspath(weights_dir())) else
                   'Write it into the weights folder with tools/convert_resnet.py or '
                   'tools/extract_backbone.py (docs/real_datasets.md)')
            raise FileNotFoundError(
                f'{path}.init_cfg.checkpoint: {checkpoint} does not exist. {how}, or train '
                f'from random weights with --cfg-options {path}.init_cfg=None')
        state = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
        state = state.get('state_dict', state)
        prefix = init.get('prefix', '')
        state = {key[len(prefix):]: value for key, value in state.items()
                 if key.startswith(prefix)}
        expected = MODELS.build(dict(module, init_cfg=None)).state_dict()
        missing, unexpected, reshaped = state_dict_mismatch(expected, state)
        if missing or reshaped or (unexpected and not named):
            raise ValueError(
                f'{path}.init_cfg.checkpoint: {checkpoint} (prefix {prefix!r}) does not fit '
                f'{path}: missing keys {missing}, unexpected keys {unexpected}, keys of '
                f'another shape {reshaped}')


def init_options(cfg, init, checkpoint=None):
    """``--cfg-options`` that start every ``Pretrained`` module of ``cfg.model`` from
    ``checkpoint`` (``init='pretrained'``; None keeps the config's file) or from random weights
    (``init='scratch'``)."""
    if init not in ('pretrained', 'scratch'):
        raise ValueError(f"init must be 'pretrained' or 'scratch', got {init!r}")
    paths = [path for path, _ in pretrained_inits(cfg.model)]
    if init == 'scratch':
        return {f'{path}.init_cfg': None for path in paths}
    if checkpoint is None:
        return {}
    return {f'{path}.init_cfg.checkpoint': checkpoint for path in paths}
