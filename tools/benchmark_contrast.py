"""Benchmark pixel contrast on toyscenes: DeepLabV3+ R18 with and without a ContrastHead.

Rows (configs/contrast/, same split files, batch, schedule, augmentation):
baseline, +SupCon over all pixels, +ContrastiveSeg over all pixels with its
memory banks, +ContrastiveSeg sampled as released (hard anchors, banks).
Each row is trained at full labels and at a 1/8 split, for each seed,
through tools/train.py; val mIoU is reported as mean and std over seeds,
step time and peak memory relative to the baseline of the same run. Results
are saved after every training; a rerun skips finished ones.

Example::

    python tools/benchmark_contrast.py                      # the README table
    python tools/benchmark_contrast.py --quick --data-root DIR --json /tmp/b.json
"""
import argparse
import os.path as osp
import sys

from densecl.engine.benchmark import ResultStore, environment, mean_std, train_and_evaluate

CONFIGS = 'configs/contrast'
ROWS = {
    'baseline': 'deeplabv3plus_r18-d16_1k_toyscenes-128x128.py',
    '+SupCon (all pixels)': 'deeplabv3plus_r18-d16_supcon_1k_toyscenes-128x128.py',
    '+ContrastiveSeg (all pixels, bank)':
    'deeplabv3plus_r18-d16_contrastiveseg-bank_1k_toyscenes-128x128.py',
    '+ContrastiveSeg (sampled as released, bank)':
    'deeplabv3plus_r18-d16_contrastiveseg-hard_1k_toyscenes-128x128.py',
}
SPLITS = {'1/8': 'splits/train_1-8.txt', 'full': ''}
BASELINE = 'baseline'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', default='docs/benchmark_contrast.json')
    parser.add_argument('--work-dir', default='work_dirs/benchmark_contrast')
    parser.add_argument('--data-root', default='data/toyscenes')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--iters', type=int, default=200, help='training iterations per run')
    parser.add_argument('--rows', nargs='+', choices=list(ROWS), default=list(ROWS))
    parser.add_argument('--splits', nargs='+', choices=list(SPLITS), default=list(SPLITS))
    parser.add_argument('--quick', action='store_true',
                        help='1 seed, 2 iterations, batch 2: checks that every row runs')
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.iters = args.seeds[:1], 2
    return args


def run_options(args, split, seed):
    """--cfg-options of one training: data, split, seed and schedule."""
    options = {'randomness.seed': seed,
               'train_cfg.max_iters': args.iters,
               'train_cfg.val_interval': args.iters,
               'param_scheduler.0.end': args.iters,
               'default_hooks.checkpoint.interval': args.iters,
               'default_hooks.logger.interval': max(1, min(50, args.iters // 8)),
               'train_dataloader.dataset.ann_file': SPLITS[split]}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options[f'{loader}.dataset.data_root'] = args.data_root
    if args.quick:
        options.update({'train_dataloader.batch_size': 2,
                        'train_dataloader.num_workers': 0,
                        'train_dataloader.persistent_workers': False,
                        'val_dataloader.num_workers': 0,
                        'val_dataloader.persistent_workers': False})
    return options


def summarize(args, runs):
    """Per (split, row): mIoU mean/std over seeds, cost ratios to the baseline."""
    table = []
    for split in args.splits:
        base = [r for k, r in runs.items() if k.startswith(f'{split}|{BASELINE}|')]
        for row in args.rows:
            done = [r for k, r in runs.items() if k.startswith(f'{split}|{row}|')]
            if not done:
                continue
            miou, miou_std = mean_std([r['mIoU'] for r in done])
            entry = {'split': split, 'row': row, 'seeds': len(done), 'mIoU': miou,
                     'mIoU_std': miou_std}
            if base:
                for cost in ('step_time_s', 'peak_rss_mib'):
                    entry[f'{cost}_ratio'] = (mean_std([r[cost] for r in done])[0]
                                              / mean_std([r[cost] for r in base])[0])
            table.append(entry)
    return table


def markdown(table):
    lines = ['| labels | row | val mIoU (mean ± std) | seeds | step time | peak memory |',
             '| --- | --- | --- | --- | --- | --- |']
    for e in table:
        ratio = lambda key: f'{e[key]:.2f}x' if key in e else '-'  # noqa: E731
        lines.append(f"| {e['split']} | {e['row']} | {e['mIoU']:.1f} ± {e['mIoU_std']:.1f} "
                     f"| {e['seeds']} | {ratio('step_time_s_ratio')} "
                     f"| {ratio('peak_rss_mib_ratio')} |")
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    store = ResultStore(args.json, environment(), {'iters': args.iters, 'quick': args.quick})
    # The reduced split first: it is where the rows differ most.
    for split in args.splits:
        for seed in args.seeds:
            for row in args.rows:
                key = f'{split}|{row}|{seed}'
                if key in store:
                    continue
                work_dir = osp.join(args.work_dir, split.replace('/', '-'),
                                    ROWS[row][:-3], f'seed{seed}')
                print(f'training {key} ...', flush=True)
                result = train_and_evaluate(osp.join(CONFIGS, ROWS[row]), work_dir,
                                            run_options(args, split, seed))
                print(f'  mIoU {result["mIoU"]:.2f}  step {result["step_time_s"]:.2f} s  '
                      f'peak {result["peak_rss_mib"]:.0f} MiB  wall {result["wall_s"]:.0f} s',
                      flush=True)
                store.add(key, result)
    table = summarize(args, store.runs())
    store.save(table=table, markdown=markdown(table))
    print(markdown(table))
    return 0


if __name__ == '__main__':
    sys.exit(main())
