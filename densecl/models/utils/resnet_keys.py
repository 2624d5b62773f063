"""Released ResNet weights in mmseg's key layout.

Two layouts reach the paper configs. torchvision's ResNet (CSS, DenseCL's released backbones)
names its blocks as mmseg's ``ResNet`` does and adds the ImageNet classifier ``fc``. UniMatch's
(and DSSN's) deep-stem ResNet keeps the stem in ``conv1`` (a Sequential of three 3x3 convs with
BN and ReLU between them, 64-64-128 channels) followed by ``bn1``: mmseg's ``ResNetV1c`` with
``stem_channels=128``, whose stem Sequential ends in its own BN.
"""
import re

# UniMatch's deep stem -> mmseg's ResNetV1c stem (conv, BN, ReLU, conv, BN, ReLU, conv, BN, ReLU).
UNIMATCH_STEM = {'conv1.0.': 'stem.0.', 'conv1.1.': 'stem.1.', 'conv1.3.': 'stem.3.',
                 'conv1.4.': 'stem.4.', 'conv1.6.': 'stem.6.', 'bn1.': 'stem.7.'}
TORCHVISION_STEM = {'conv1.': 'conv1.', 'bn1.': 'bn1.'}
LAYOUTS = {'torchvision': TORCHVISION_STEM, 'unimatch': UNIMATCH_STEM}
BLOCK_KEY = re.compile(r'layer[1-4]\.\d+\.(conv[1-3]|bn[1-3]|downsample\.[01])\.')
CLASSIFIER = 'fc.'
WRAPPER = 'module.'


def convert_resnet_keys(state, layout):
    """``state`` (a released ResNet state dict of ``layout``) with mmseg's ResNet key names.

    The classifier (``fc.*``) is dropped and a DataParallel ``module.`` prefix removed; tensors
    are kept as they are (no copy).

    Raises:
        ValueError: for an unknown layout, or naming the keys that are not of that layout.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'unknown ResNet layout {layout!r}; known: {sorted(LAYOUTS)}')
    stem = LAYOUTS[layout]
    converted, foreign = {}, []
    for key, value in state.items():
        name = key[len(WRAPPER):] if key.startswith(WRAPPER) else key
        if name.startswith(CLASSIFIER):
            continue
        if BLOCK_KEY.match(name):
            converted[name] = value
            continue
        source = next((prefix for prefix in stem if name.startswith(prefix)), None)
        if source is None:
            foreign.append(key)
            continue
        converted[stem[source] + name[len(source):]] = value
    if foreign:
        raise ValueError(f'{len(foreign)} key(s) are not of the {layout} ResNet layout: '
                         f'{foreign[:8]}')
    return converted
