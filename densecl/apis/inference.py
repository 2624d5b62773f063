"""Load a densecl model and get its segmentation and anomaly map, for scripts and notebooks."""
import os.path as osp
from typing import NamedTuple, Optional

import cv2
import numpy as np
from mmengine.model import revert_sync_batchnorm
from mmengine.runner.checkpoint import _load_checkpoint
from mmseg.apis import inference_model
from mmseg.apis import init_model as init_mmseg_model

from ..engine import state_dict_mismatch
from ..models.segmentors import RPLEncoderDecoder


class Prediction(NamedTuple):
    """One image's result: (H, W) int class map and (H, W) float anomaly map (or None)."""
    segmentation: np.ndarray
    anomaly_map: Optional[np.ndarray]


def init_model(config, checkpoint, device='cpu', cfg_options=None):
    """Build ``config`` and load every weight of ``checkpoint`` into it.

    Unlike ``mmseg.apis.init_model``, a checkpoint that does not fit the
    config fails with the missing and unexpected keys instead of leaving
    weights at random; an RPL config with a checkpoint that has no residual
    block (a closed-set checkpoint) fails saying so. Class names and palette
    come from the checkpoint's ``meta.dataset_meta`` (written by mmengine's
    Runner).

    Raises:
        FileNotFoundError: missing config or checkpoint.
        ValueError: checkpoint and config do not fit, or no dataset meta.
    """
    for path in (config, checkpoint):
        if isinstance(path, str) and not osp.isfile(path):
            raise FileNotFoundError(f'{path} not found')
    model = init_mmseg_model(config, None, device='cpu', cfg_options=cfg_options)
    loaded = _load_checkpoint(checkpoint, map_location='cpu')
    state = loaded.get('state_dict', loaded)
    expected = model.state_dict()
    missing, unexpected, reshaped = state_dict_mismatch(expected, state)
    no_residual = any(key.startswith('residual_block.') for key in missing)
    if isinstance(model, RPLEncoderDecoder) and no_residual:
        raise ValueError(f'{checkpoint} has no RPL residual block (residual_block.*): it is not '
                         f'an RPL checkpoint, so it gives no RPL anomaly map; use it with the '
                         f'closed-set config for the MSP / max logit / energy baselines')
    if missing or unexpected:
        raise ValueError(f'{checkpoint} does not fit {config}: {len(missing)} keys missing '
                         f'{missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}')
    if reshaped:
        raise ValueError(f'{checkpoint} does not fit {config}: {len(reshaped)} weights of '
                         f'another shape, e.g. {reshaped[0]} {tuple(state[reshaped[0]].shape)} '
                         f'vs {tuple(expected[reshaped[0]].shape)}')
    model.load_state_dict(state)
    meta = loaded.get('meta', {}).get('dataset_meta')
    if not meta or 'classes' not in meta or 'palette' not in meta:
        raise ValueError(f'{checkpoint} has no meta.dataset_meta with classes and palette; '
                         'save checkpoints with mmengine Runner (tools/train.py)')
    model.dataset_meta = meta
    return revert_sync_batchnorm(model).to(device).eval()


def read_image(path):
    """BGR uint8 image at ``path``; ValueError naming the file when it cannot be read."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f'cannot read image {path} (missing, or not an image)')
    return image


def inference(model, image):
    """Segmentation and anomaly map of ``image`` (a path or a BGR array) at its size.

    The anomaly map is None for a model that gives none (a plain segmenter).
    """
    if isinstance(image, str):
        image = read_image(image)
    result = inference_model(model, image)
    anomaly = result.get('pred_anomaly_map')
    return Prediction(
        segmentation=result.pred_sem_seg.data[0].cpu().numpy(),
        anomaly_map=None if anomaly is None else anomaly.data[0].float().cpu().numpy())
