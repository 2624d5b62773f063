"""Keep the query backbone of a pretraining checkpoint, for mmseg segmenters.

The output holds ``{'state_dict': {'backbone.<name>': tensor}, 'meta': ...}``:
the query encoder's ``backbone.*`` weights (the momentum encoder, necks, queues
and optimizer state are dropped). A segmenter config loads it with::

    model = dict(backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint='OUT.pth', prefix='backbone.')))

Example::

    python tools/extract_backbone.py work_dirs/densecl/iter_300.pth r18_densecl.pth
"""
import argparse
import sys

import torch

from densecl.compat import safe_load_checkpoint
from densecl.engine import backbone_state_dict


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='pretraining checkpoint (e.g. work_dirs/.../iter_N.pth)')
    parser.add_argument('out', help='output file for the backbone weights')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    checkpoint = safe_load_checkpoint(args.checkpoint, map_location='cpu')
    try:
        state = backbone_state_dict(checkpoint, args.checkpoint)
    except ValueError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    meta = {'source': args.checkpoint}
    if isinstance(checkpoint.get('meta'), dict):
        meta.update({k: checkpoint['meta'][k] for k in ('iter', 'seed') if k in checkpoint['meta']})
    torch.save({'state_dict': state, 'meta': meta}, args.out)
    print(f'{len(state)} backbone tensors from {args.checkpoint} written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
