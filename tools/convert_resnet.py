"""Convert a released ResNet checkpoint (torchvision or UniMatch deep-stem keys) for mmseg.

The output holds ``{'state_dict': {'backbone.<name>': tensor}, 'meta': ...}`` in the key layout
of mmseg's ``ResNet`` (torchvision) or ``ResNetV1c`` with ``stem_channels=128`` (UniMatch),
checked to fit that backbone strictly before it is written. A config starts from it with the
``init_cfg`` this tool prints.

Example::

    python tools/convert_resnet.py resnet101.pth data/weights/resnet101_unimatch.pth \\
        --layout unimatch --depth 101
"""
import argparse
import sys

import torch
from mmseg.registry import MODELS

import densecl  # noqa: F401  (registers the models)
from densecl.compat import safe_load_checkpoint
from densecl.engine import atomic_write, check_output, state_dict_mismatch
from densecl.models.utils import LAYOUTS, convert_resnet_keys

BACKBONES = {'torchvision': dict(type='ResNet'),
             'unimatch': dict(type='ResNetV1c', stem_channels=128)}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='released ResNet checkpoint')
    parser.add_argument('out', help='output file for the mmseg backbone weights')
    parser.add_argument('--layout', choices=sorted(LAYOUTS), required=True,
                        help='key layout of the released checkpoint')
    parser.add_argument('--depth', type=int, choices=(18, 34, 50, 101, 152), required=True)
    parser.add_argument('--force', action='store_true', help='overwrite an existing output file')
    return parser.parse_args(argv)


def fit_error(state, backbone):
    """None when ``state`` fits ``backbone`` (a config) strictly, else the keys that do not."""
    expected = MODELS.build(backbone).state_dict()
    missing, unexpected, reshaped = state_dict_mismatch(expected, state)
    if missing or unexpected or reshaped:
        return (f'the converted weights do not fit {backbone}: missing keys {missing[:8]}, '
                f'unexpected keys {unexpected[:8]}, keys of another shape {reshaped[:8]}')
    return None


def main(argv=None):
    args = parse_args(argv)
    backbone = dict(BACKBONES[args.layout], depth=args.depth)
    try:
        check_output(args.out, [args.checkpoint], args.force)
        checkpoint = safe_load_checkpoint(args.checkpoint, map_location='cpu')
        state = checkpoint.get('state_dict', checkpoint)
        converted = convert_resnet_keys(state, args.layout)
        error = fit_error(converted, backbone)
        if error:
            raise ValueError(f'{args.checkpoint}: {error}')
    except (ValueError, FileNotFoundError, FileExistsError, IsADirectoryError,
            NotADirectoryError, PermissionError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    meta = dict(source=args.checkpoint, layout=args.layout, backbone=backbone)
    with atomic_write(args.out, 'wb') as f:
        torch.save({'state_dict': {f'backbone.{key}': value for key, value in converted.items()},
                    'meta': meta}, f)
    print(f'{len(converted)} tensors of {args.checkpoint} ({args.layout}) written to {args.out}; '
          f'start a config from it with\n  backbone={backbone} and\n  init_cfg=dict('
          f"type='Pretrained', checkpoint='{args.out}', prefix='backbone.')")
    return 0


if __name__ == '__main__':
    sys.exit(main())
