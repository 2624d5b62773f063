"""Write a tiny dataset in the exact layout of a real one, e.g. to try a paper config offline.

The folder is what the dataset's official release unpacks to (labels before any conversion),
so the conversion tools and the paper configs run on it as on the real data::

    python tools/make_format_fixture.py --format cityscapes --out data/cityscapes
    python tools/convert_datasets.py cityscapes data/cityscapes
"""
import argparse
import os
import sys

from densecl.datasets.fixtures import FORMATS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--format', required=True, choices=sorted(FORMATS))
    parser.add_argument('--out', required=True, help='folder to write (must be empty or new)')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if os.path.isdir(args.out) and os.listdir(args.out):
        print(f'error: {args.out} is not empty; a fixture is written into a new folder',
              file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    written = FORMATS[args.format](args.out, seed=args.seed)
    print(f'{args.format} fixture in {args.out}: {written}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
