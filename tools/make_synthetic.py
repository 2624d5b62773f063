"""Generate toyscenes, densecl's procedural segmentation benchmark.

Example::

    python tools/make_synthetic.py --out data/toyscenes --seed 0 \
        --contact-sheets docs

Every argument is checked before anything is written; the dataset is built in
a temporary folder and moved into place only when complete.
"""
import argparse
import json
import time

from densecl.datasets.synthetic import (DEFAULT_COUNTS, MAX_COUNT, MAX_SIZE, contact_sheets,
                                        generate)


def parse_args():
    parser = argparse.ArgumentParser(
        description='Write the toyscenes benchmark in mmseg folder layout')
    parser.add_argument('--out', required=True, help='output data root')
    parser.add_argument('--seed', type=int, default=0, help='global seed')
    parser.add_argument('--size', type=int, default=128,
                        help=f'image side, 32 to {MAX_SIZE} (default 128)')
    for split, num in DEFAULT_COUNTS.items():
        parser.add_argument(
            f'--num-{split.replace("_", "-")}',
            type=int,
            default=num,
            dest=split,
            metavar='N',
            help=f'number of {split} items, at most {MAX_COUNT} (default {num})')
    parser.add_argument(
        '--force',
        action='store_true',
        help='write into a non-empty --out that holds no toyscenes dataset '
        '(its other files are kept)')
    parser.add_argument(
        '--contact-sheets',
        metavar='DOCSDIR',
        help='also write DOCSDIR/toyscenes_<split>.png preview grids')
    return parser, parser.parse_args()


def main():
    parser, args = parse_args()
    start = time.perf_counter()
    counts = {split: getattr(args, split) for split in DEFAULT_COUNTS}
    try:
        meta = generate(args.out, args.seed, args.size, counts, args.force)
    except (ValueError, FileExistsError, NotADirectoryError) as error:
        parser.error(str(error))
    print(f'toyscenes v{meta["version"]} written to {args.out} in '
          f'{time.perf_counter() - start:.1f} s: '
          f'{json.dumps(meta["counts"])}')
    if args.contact_sheets:
        for path in contact_sheets(args.out, args.contact_sheets):
            print(f'contact sheet: {path}')


if __name__ == '__main__':
    main()
