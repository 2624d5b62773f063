"""Keep the query backbone of a pretraining checkpoint, for mmseg segmenters.

The output holds ``{'state_dict': {'backbone.<name>': tensor}, 'meta': ...}``:
the query encoder's ``backbone.*`` weights (the momentum encoder, necks, queues
and optimizer state are dropped). The output is never the input checkpoint; an
existing file is replaced only with ``--force``, and in one rename, so a failed
write leaves it whole. A segmenter config loads it with::

    model = dict(backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint='OUT.pth', prefix='backbone.')))

Example::

    python tools/extract_backbone.py work_dirs/densecl/iter_300.pth r18_densecl.pth
"""
import argparse
import sys

import torch

from densecl.compat import safe_load_checkpoint
from densecl.engine import atomic_write, backbone_state_dict, check_output


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='pretraining checkpoint (e.g. work_dirs/.../iter_N.pth)')
    parser.add_argument('out', help='output file for the backbone weights')
    parser.add_argument('--force', action='store_true', help='overwrite an existing output file')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        check_output(args.out, [args.checkpoint], args.force)
        checkpoint = safe_load_checkpoint(args.checkpoint, map_location='cpu')
        state = backbone_state_dict(checkpoint, args.checkpoint)
    except (ValueError, FileExistsError, IsADirectoryError, NotADirectoryError,
            PermissionError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    meta = {'source': args.checkpoint}
    if isinstance(checkpoint.get('meta'), dict):
        meta.update({k: checkpoint['meta'][k] for k in ('iter', 'seed') if k in checkpoint['meta']})
    with atomic_write(args.out, 'wb') as f:
        torch.save({'state_dict': state, 'meta': meta}, f)
    print(f'{len(state)} backbone tensors from {args.checkpoint} written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
