"""Benchmark pixel contrast on toyscenes: DeepLabV3+ R18 with and without a ContrastHead.

Rows (configs/contrast/, same split files, batch, schedule, augmentation):
baseline, +SupCon over all pixels, +ContrastiveSeg as released with memory
(one hard/easy anchor per image and class against the pixel and segment
queues only, T 0.07, weight 1), +ContrastiveSeg as released without memory
(hard/easy anchors against each other, T 0.1, weight 0.1), and densecl's
earlier ContrastiveSeg option (every pixel against the other pixels and the
banks, T 0.1, weight 0.1). A contrast row whose loss stays exactly 0 for an
epoch stops with an error instead of filling the table.
Each row is trained at full labels and at a 1/8 split, for each seed,
through tools/train.py; val mIoU is reported as mean and std over seeds,
step time and peak memory relative to the baseline of the same run. Results
are saved after every training; a rerun skips finished ones.

``--study`` asks why the contrast rows do (not) help: one change at a time
to the ContrastHead (loss weight, temperature, embedding size, start
iteration) and a longer schedule, at the 1/8 split, each against a baseline
trained in the same run; it writes its own JSON.

Example::

    python tools/benchmark_contrast.py                # the table of configs/contrast/README.md
    python tools/benchmark_contrast.py --quick --data-root DIR --json /tmp/b.json
    python tools/benchmark_contrast.py --study             # its study table
"""
import argparse
import os.path as osp
import sys

from densecl.engine.benchmark import (ResultStore, add_init_arguments, environment,
                                      init_cfg_options, init_json, init_settings, markdown_table,
                                      mean_std, mean_std_cell, quick_options, ratio_cell, runs_of,
                                      schedule_options, split_file, summary_entry)

CONFIGS = 'configs/contrast'
ROWS = {
    'baseline': 'deeplabv3plus_r18-d16_1k_toyscenes-128x128.py',
    '+SupCon (all pixels)': 'deeplabv3plus_r18-d16_supcon_1k_toyscenes-128x128.py',
    '+ContrastiveSeg (as released, memory)':
    'deeplabv3plus_r18-d16_contrastiveseg-mem_1k_toyscenes-128x128.py',
    '+ContrastiveSeg (as released, no memory)':
    'deeplabv3plus_r18-d16_contrastiveseg-hard_1k_toyscenes-128x128.py',
    '+ContrastiveSeg option (all pixels + banks, T 0.1)':
    'deeplabv3plus_r18-d16_contrastiveseg-bank_1k_toyscenes-128x128.py',
}
SPLITS = ('1/8', 'full')
BASELINE = 'baseline'
SUPCON = '+SupCon (all pixels)'
HEAD = 'model.auxiliary_head.1'  # the ContrastHead, after the FCN auxiliary head
# SupCon stands for both losses here: it costs a quarter of the banked ContrastiveSeg.
# name: (row, schedule length in multiples of --iters, extra cfg-options given --iters)
STUDY = {
    'baseline': (BASELINE, 1, lambda iters: {}),
    'SupCon, loss weight 1.0': (SUPCON, 1, lambda iters: {f'{HEAD}.loss_decode.loss_weight': 1.0}),
    'baseline, 5x iterations': (BASELINE, 5, lambda iters: {}),
    'SupCon, 5x iterations': (SUPCON, 5, lambda iters: {}),
    'SupCon, temperature 0.3': (SUPCON, 1, lambda iters: {f'{HEAD}.loss_decode.temperature': 0.3}),
    'SupCon, 256-d embedding': (SUPCON, 1, lambda iters: {f'{HEAD}.embed_channels': 256}),
    'SupCon, starts at half the schedule':
    (SUPCON, 1, lambda iters: {f'{HEAD}.start_iter': iters // 2}),
}
STUDY_SPLIT = '1/8'
COSTS = ('step_time_s', 'peak_rss_mib')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json',
                        help='default: docs/benchmark_contrast[_study][_pretrained].json')
    parser.add_argument('--work-dir', default='work_dirs/benchmark_contrast',
                        help='runs go to WORK_DIR/<init>')
    parser.add_argument('--data-root', default='data/toyscenes')
    parser.add_argument('--seeds', type=int, nargs='+', help='default: 0 1 2 (study: 0)')
    parser.add_argument('--iters', type=int, default=200, help='training iterations per run')
    parser.add_argument('--rows', nargs='+', choices=list(ROWS), default=list(ROWS))
    parser.add_argument('--splits', nargs='+', choices=SPLITS, default=list(SPLITS))
    parser.add_argument('--study', action='store_true',
                        help='run the STUDY variants at the 1/8 split instead of the table')
    parser.add_argument('--variants', nargs='+', choices=list(STUDY), default=list(STUDY),
                        help='with --study: the variants to train')
    parser.add_argument('--quick', action='store_true',
                        help='1 seed, 2 iterations, batch 2: checks that every row runs')
    add_init_arguments(parser)
    args = parser.parse_args(argv)
    args.json = args.json or init_json(
        f'docs/benchmark_contrast{"_study" if args.study else ""}.json', args.init)
    args.work_dir = osp.join(args.work_dir, args.init)
    args.seeds = args.seeds or ([0] if args.study else [0, 1, 2])
    if args.quick:
        args.seeds, args.iters = args.seeds[:1], 2
    return args


def run_options(args, split, seed, iters):
    """--cfg-options of one training: data, split, seed, schedule and backbone start (every
    row's backbone is model.backbone)."""
    options = {'randomness.seed': seed, **schedule_options(iters),
               **init_cfg_options(osp.join(CONFIGS, ROWS[BASELINE]), args),
               'train_dataloader.dataset.ann_file': split_file(split)}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options[f'{loader}.dataset.data_root'] = args.data_root
    return {**options, **quick_options(args.quick)}


def summarize(args, runs):
    """Per (split, row): mIoU mean/std over seeds, cost ratios to the baseline."""
    table = []
    for split in args.splits:
        base = runs_of(runs, split, BASELINE)
        for row in args.rows:
            done = runs_of(runs, split, row)
            if done:
                table.append(summary_entry(done, ('mIoU', ), base, COSTS, split=split, row=row))
    return table


def markdown(table):
    return markdown_table(
        ['labels', 'row', 'val mIoU (mean ± std)', 'seeds', 'step time', 'peak memory'],
        [[e['split'], e['row'], mean_std_cell(e, 'mIoU'), e['seeds'],
          ratio_cell(e, 'step_time_s_ratio'), ratio_cell(e, 'peak_rss_mib_ratio')]
         for e in table])


def study(args, store):
    """Train each STUDY variant per seed at the 1/8 split (skipping finished ones)."""
    for seed in args.seeds:
        for name in args.variants:
            row, scale, extra = STUDY[name]
            iters = args.iters * scale
            options = {**run_options(args, STUDY_SPLIT, seed, iters), **extra(args.iters)}
            store.train_once(f'{name}|{seed}', osp.join(CONFIGS, ROWS[row]),
                             osp.join(args.work_dir, 'study',
                                      name.replace(' ', '_').replace(',', ''), f'seed{seed}'),
                             options)


def study_table(args, runs):
    """(entries, markdown): each finished variant's mIoU over all seeds on record and its
    change from the baseline trained for as many iterations (mean over the same seeds)."""
    table, lines = [], []
    for name, (row, scale, _) in STUDY.items():
        base_name = 'baseline' if scale == 1 else f'baseline, {scale}x iterations'
        seeds = [k.split('|')[1] for k in runs if k.split('|')[0] == name]
        if not seeds:
            continue
        entry = summary_entry(runs_of(runs, name), ('mIoU', ), variant=name,
                              iters=args.iters * scale)
        if all(f'{base_name}|{s}' in runs for s in seeds):
            base = [runs[f'{base_name}|{s}']['mIoU'] for s in seeds]
            entry['change'] = entry['mIoU'] - mean_std(base)[0]
        table.append(entry)
        change = f"{entry['change']:+.1f}" if 'change' in entry else '-'
        lines.append([name, entry['iters'], entry['seeds'], mean_std_cell(entry, 'mIoU'), change])
    return table, markdown_table(['variant (1/8 labels)', 'iterations', 'seeds',
                                  'val mIoU (mean ± std)', 'change vs baseline of same length'],
                                 lines)


def main(argv=None):
    args = parse_args(argv)
    store = ResultStore(args.json, environment(),
                        {'iters': args.iters, 'quick': args.quick, **init_settings(args)},
                        args.data_root)
    if args.study:
        study(args, store)
        table, text = study_table(args, store.current())
        store.save(table=table, markdown=text)
        print(text)
        return 0
    # The reduced split first: it is where the rows differ most.
    for split in args.splits:
        for seed in args.seeds:
            for row in args.rows:
                work_dir = osp.join(args.work_dir, split.replace('/', '-'),
                                    ROWS[row][:-3], f'seed{seed}')
                store.train_once(f'{split}|{row}|{seed}', osp.join(CONFIGS, ROWS[row]),
                                 work_dir, run_options(args, split, seed, args.iters))
    table = summarize(args, store.current())
    store.save(table=table, markdown=markdown(table))
    print(markdown(table))
    return 0


if __name__ == '__main__':
    sys.exit(main())
