"""Merge benchmark JSONs trained in parallel (e.g. one process per seed on copies of a file).

    python tools/merge_benchmark.py docs/benchmark_semi_pretrained.json /tmp/semi_seed2.json

Then run the benchmark tool again on the merged file: it trains nothing merged and writes the
tables over all runs.
"""
import argparse
import os.path as osp
import sys

from densecl.engine.benchmark import merge_results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('into', help='benchmark JSON that receives the runs')
    parser.add_argument('sources', nargs='+', help='benchmark JSONs made with the same settings')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for path in (args.into, *args.sources):
        if not osp.isfile(path):
            sys.exit(f'{path} does not exist')
    try:
        added = merge_results(args.into, args.sources)
    except ValueError as error:
        sys.exit(str(error))
    print(f'{args.into}: {len(added)} runs added' + (f' ({", ".join(added)})' if added else ''))


if __name__ == '__main__':
    main()
