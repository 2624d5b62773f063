"""Named pretrained weights (``open-mmlab://``, ``torchvision://``, ``http(s)://``) from files.

The paper configs start from ImageNet weights that mmengine downloads by name. Offline that
download fails deep inside model initialisation with a URLError, after the datasets are built.
Here a name resolves to the file its download would write: first in the weights folder
(``data/weights/``, or ``$DENSECL_WEIGHTS``), then in torch hub's cache, where mmengine's own
download keeps it. When neither holds it, the one error names the file, the folder and the
config key, before any work.
"""
import os
import os.path as osp
from urllib.parse import urlparse

import mmengine
import torch

WEIGHTS_DIR = 'data/weights'
WEIGHTS_ENV = 'DENSECL_WEIGHTS'
SCHEMES = {'open-mmlab://': 'openmmlab.json', 'openmmlab://': 'openmmlab.json',
           'torchvision://': 'torchvision_0.12.json', 'modelzoo://': 'torchvision_0.12.json',
           'mmcls://': 'mmcls.json'}


def weights_dir():
    """The folder named weights are looked up in: ``$DENSECL_WEIGHTS`` or ``data/weights``."""
    return os.environ.get(WEIGHTS_ENV, WEIGHTS_DIR)


def _hub_table(json_name):
    return mmengine.load(osp.join(mmengine.__path__[0], 'hub', json_name))


def weights_url(name):
    """The download URL behind a weights name, or None when ``name`` is not one (a path).

    ``open-mmlab://resnet50_v1c`` -> mmengine's hub table entry (deprecated names followed);
    ``torchvision://resnet101`` -> torchvision's ImageNet-1k V1 file; ``https://...`` -> itself.

    Raises:
        KeyError: for a scheme's name that mmengine's tables do not know.
    """
    if name.startswith(('http://', 'https://')):
        return name
    for scheme, json_name in SCHEMES.items():
        if name.startswith(scheme):
            model = name[len(scheme):]
            table = _hub_table(json_name)
            if json_name == 'openmmlab.json':
                model = _hub_table('deprecated.json').get(model, model)
            if model not in table:
                raise KeyError(f'{name}: unknown {scheme} weights; known names: {sorted(table)}')
            return table[model]
    return None


def resolve_weights(name, key):
    """The local file of weights ``name`` (returned unchanged when it is not a named weight).

    Args:
        name (str): a checkpoint path or a weights name.
        key (str): the config key that holds ``name``, for the error message.

    Raises:
        FileNotFoundError: naming the file, the folder to put it in, the URL it comes from and
            the config key to override.
    """
    url = weights_url(name)
    if url is None:
        return name
    file_name = osp.basename(urlparse(url).path)
    candidates = [osp.join(weights_dir(), file_name),
                  osp.join(torch.hub.get_dir(), 'checkpoints', file_name)]
    for path in candidates:
        if osp.isfile(path):
            return path
    raise FileNotFoundError(
        f'{key}: {name} needs the file {file_name}, which is not on this machine (looked in '
        f'{" and ".join(osp.dirname(path) for path in candidates)}). Download {url} into '
        f'{weights_dir()}/ (or set ${WEIGHTS_ENV} to the folder that holds it), or point '
        f'--cfg-options {key}=PATH at a local checkpoint')
