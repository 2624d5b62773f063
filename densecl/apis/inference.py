"""Load a densecl model and get its segmentation and anomaly map, for scripts and notebooks."""
import os
import os.path as osp
from typing import NamedTuple, Optional

import cv2
import numpy as np
import torch
from mmengine.model import revert_sync_batchnorm
from mmengine.runner.checkpoint import _load_checkpoint
from mmseg.apis import init_model as init_mmseg_model
from mmseg.apis.utils import _preprare_data

from ..engine import state_dict_mismatch
from ..models.segmentors import RPLEncoderDecoder

# Smallest side the network may see: the output stride of the configs here (d16). Thinner
# inputs leave a feature map without a row of its own and fail deep in the model (e.g. the
# 7x7 blur of the anomaly map) with errors that do not name the image.
MIN_SIZE = 16
# (H, W, channels) arrays converted to BGR as cv2.imread(IMREAD_COLOR) converts image files.
TO_BGR = {1: cv2.COLOR_GRAY2BGR, 4: cv2.COLOR_BGRA2BGR}


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
        ValueError: ``device`` is not on this machine, checkpoint and config do not fit,
            or no dataset meta.
    """
    check_device(device)
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


def check_device(device):
    """Refuse a ``device`` torch cannot use here (e.g. 'cuda' on a CPU-only build) with
    ValueError, before building a model that ``.to(device)`` would reject with an
    AssertionError about how torch was compiled."""
    try:
        parsed = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f'device {device!r}: {error}') from None
    count = torch.cuda.device_count()
    if parsed.type == 'cuda' and (parsed.index or 0) >= count:
        raise ValueError(f"device {device!r}: torch sees {count} CUDA GPU(s) (a CPU-only build "
                         f"or no GPU visible); use 'cpu'")


def read_image(path):
    """BGR uint8 image of the file at ``path`` (str or pathlib.Path), as cv2 reads it in colour.

    Raises:
        FileNotFoundError: nothing at ``path``.
        IsADirectoryError: ``path`` is a folder.
        ValueError: ``path`` is not an image file cv2 can decode.
    """
    path = os.fspath(path)
    if not osp.exists(path):
        raise FileNotFoundError(f'image {path} not found')
    if osp.isdir(path):
        raise IsADirectoryError(f'image {path} is a folder, not an image file')
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f'cannot read image {path}: not an image file cv2 can decode')
    return image


def as_bgr(image):
    """``image`` (a path or an array) as the (H, W, 3) BGR uint8 array the models take.

    Gray (H, W) / (H, W, 1) and BGRA (H, W, 4) arrays are converted as cv2.imread
    converts such files, so a file and its array give the same prediction; other
    arrays are refused instead of being scaled or broadcast silently.

    Raises:
        TypeError: neither a str / pathlib.Path nor a numpy array.
        ValueError: not uint8, another number of channels, or empty (and
            :func:`read_image`'s errors for a path).
    """
    if isinstance(image, (str, os.PathLike)):
        return read_image(image)
    if not isinstance(image, np.ndarray):
        raise TypeError(f'image must be a path (str or pathlib.Path) or a numpy array, got '
                        f'{type(image).__name__}; pass one image per call')
    if image.dtype != np.uint8:
        raise ValueError(f'image has dtype {image.dtype}; models take uint8 BGR in 0..255 '
                         f'(as cv2.imread gives): convert it first, e.g. '
                         f'(image * 255).round().astype(np.uint8) for floats in [0, 1], '
                         f'(image // 257).astype(np.uint8) for uint16')
    channels = image.shape[2] if image.ndim == 3 else 1
    if image.ndim not in (2, 3) or channels not in (1, 3, 4):
        raise ValueError(f'image has shape {image.shape}; give (H, W, 3) BGR, (H, W) or '
                         f'(H, W, 1) gray, or (H, W, 4) BGRA')
    if not image.size:
        raise ValueError(f'image is empty ({image.shape[0]}x{image.shape[1]})')
    return image if channels == 3 else cv2.cvtColor(image, TO_BGR[channels])


def inference(model, image):
    """Segmentation and anomaly map of ``image`` (see :func:`as_bgr`) at its size.

    The anomaly map is None for a model that gives none (a plain segmenter).

    Raises:
        ValueError: the test pipeline (its resize) leaves a side under
            ``MIN_SIZE`` (e.g. a 5x300 strip), and :func:`as_bgr`'s errors.
    """
    image = as_bgr(image)
    data, _ = _preprare_data(image, model)  # mmseg's inference_model, with the size checked
    size = tuple(data['inputs'][0].shape[-2:])
    if min(size) < MIN_SIZE:
        raise ValueError(f'image {image.shape[0]}x{image.shape[1]} is {size[0]}x{size[1]} '
                         f'after the test pipeline, under the {MIN_SIZE} pixels a side the '
                         f'model needs; crop or pad it to a less elongated shape')
    with torch.no_grad():
        result = model.test_step(data)[0]
    anomaly = result.get('pred_anomaly_map')
    return Prediction(
        segmentation=result.pred_sem_seg.data[0].cpu().numpy(),
        anomaly_map=None if anomaly is None else anomaly.data[0].float().cpu().numpy())
