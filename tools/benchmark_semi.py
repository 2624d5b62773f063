"""Benchmark semi-supervised segmentation on toyscenes: room first, then the methods.

1. Room: supervised-only DeepLabV3+ R18 (configs/semi, student and EMA teacher) at full
   labels and at the candidate splits (``--room-splits``: 1/64 by default, the only one with
   room at the default schedule; 1/16 and 1/32 can be added). The benchmark split is the
   largest fraction that full labels beat by at least ``--min-room`` val mIoU points
   (teacher, mean over seeds), or the smallest candidate if none does (``--split`` fixes it).
2. Rows at that split, same split files, batch (4 labelled + 4 unlabelled), schedule and
   augmentation: supervised-only, weak-to-strong (densecl's first choices), + pixel contrast,
   CSS cross, CSS mix, UniMatch and DSSN as released, and one row per densecl option of
   those three (CSS: all-pixel contrast, eval-mode teacher; UniMatch: EMA teacher; DSSN:
   eval-mode teacher, teacher FP labels, matching-pixel MSE).

Every training runs through tools/train.py; val mIoU of student and teacher is reported as
mean and std over seeds, step time relative to supervised-only at the same split. Results
are saved after every training; a rerun skips finished ones.

Example::

    python tools/benchmark_semi.py                      # the table of configs/semi/README.md
    python tools/benchmark_semi.py --quick --data-root DIR --json /tmp/b.json
"""
import argparse
import os.path as osp
import sys

from densecl.engine.benchmark import (ResultStore, add_init_arguments, add_schedule_arguments,
                                      environment, init_cfg_options, init_json, init_settings,
                                      markdown_table, mean_std, mean_std_cell, quick_options,
                                      ratio_cell, runs_of, schedule_options, split_file,
                                      summary_entry)

CONFIGS = 'configs/semi'
SUPERVISED = 'supervised-only'
ROWS = {
    SUPERVISED: 'deeplabv3plus_r18-d16_supervised_1k_toyscenes-1-16-128x128.py',
    'weak-to-strong': 'deeplabv3plus_r18-d16_weak-to-strong_1k_toyscenes-1-16-128x128.py',
    'weak-to-strong + pixel contrast':
    'deeplabv3plus_r18-d16_weak-to-strong-contrast_1k_toyscenes-1-16-128x128.py',
    'CSS cross': 'deeplabv3plus_r18-d16_css-cross_1k_toyscenes-1-16-128x128.py',
    'CSS mix': 'deeplabv3plus_r18-d16_css-mix_1k_toyscenes-1-16-128x128.py',
    'CSS cross + all-pixel contrast':
    'deeplabv3plus_r18-d16_css-cross-allpix_1k_toyscenes-1-16-128x128.py',
    'CSS cross + eval-mode teacher':
    'deeplabv3plus_r18-d16_css-cross-eval-teacher_1k_toyscenes-1-16-128x128.py',
    'UniMatch': 'deeplabv3plus_r18-d16_unimatch_1k_toyscenes-1-16-128x128.py',
    'UniMatch + EMA teacher':
    'deeplabv3plus_r18-d16_unimatch-ema-teacher_1k_toyscenes-1-16-128x128.py',
    'DSSN': 'deeplabv3plus_r18-d16_dssn_1k_toyscenes-1-16-128x128.py',
    'DSSN + eval-mode teacher':
    'deeplabv3plus_r18-d16_dssn-eval-teacher_1k_toyscenes-1-16-128x128.py',
    'DSSN + teacher FP labels':
    'deeplabv3plus_r18-d16_dssn-teacher-fp_1k_toyscenes-1-16-128x128.py',
    'DSSN + matching-pixel MSE':
    'deeplabv3plus_r18-d16_dssn-agree-mse_1k_toyscenes-1-16-128x128.py',
}
SPLITS = ('full', '1/16', '1/32', '1/64')
METRICS = ('student/mIoU', 'teacher/mIoU')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', help='default: docs/benchmark_semi[_pretrained].json')
    parser.add_argument('--work-dir', default='work_dirs/benchmark_semi',
                        help='runs go to WORK_DIR/<init>')
    parser.add_argument('--data-root', default='data/toyscenes')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    add_schedule_arguments(parser, 'configs/semi/README.md', iters=1000)
    add_init_arguments(parser)
    parser.add_argument('--rows', nargs='+', choices=list(ROWS), default=list(ROWS))
    parser.add_argument('--room-splits', nargs='+', choices=SPLITS, default=['full', '1/64'],
                        help='supervised-only runs that measure the room (full is required)')
    parser.add_argument('--split', choices=[s for s in SPLITS if s != 'full'],
                        help='benchmark split (default: chosen from the room runs)')
    parser.add_argument('--min-room', type=float, default=15.0,
                        help='mIoU points full labels must beat the chosen split by')
    parser.add_argument('--quick', action='store_true',
                        help='1 seed, 2 iterations, batch 2 + 2: checks that every row runs')
    args = parser.parse_args(argv)
    if 'full' not in args.room_splits:
        parser.error('--room-splits must include full: the room is measured against it')
    args.json = args.json or init_json('docs/benchmark_semi.json', args.init)
    args.work_dir = osp.join(args.work_dir, args.init)
    if args.quick:
        args.seeds, args.iters = args.seeds[:1], 2
    return args


def run_options(args, row, split, seed):
    """--cfg-options of one training: data, split, seed, crop and schedule."""
    crop = f'({args.crop},{args.crop})'
    semi = row != SUPERVISED
    labeled = 'train_dataloader.dataset.labeled' if semi else 'train_dataloader.dataset'
    options = {'randomness.seed': seed, **schedule_options(args.iters, args.lr),
               **init_cfg_options(osp.join(CONFIGS, ROWS[row]), args),
               'model.data_preprocessor.size': crop,
               f'{labeled}.ann_file': split_file(split),
               f'{labeled}.data_root': args.data_root,
               f'{labeled}.pipeline.4.crop_size': crop,  # RandomCrop of train_pipeline
               'val_dataloader.dataset.data_root': args.data_root,
               'test_dataloader.dataset.data_root': args.data_root}
    if semi:
        options.update({'train_dataloader.dataset.unlabeled.data_root': args.data_root,
                        'train_dataloader.dataset.unlabeled.pipeline.2.crop_size': crop})
    if row.startswith('CSS'):
        options['model.rampdown_iters'] = args.iters
    return {**options, **quick_options(args.quick, two_streams=semi)}


def train(args, store, key, row, split, seed):
    """Train ``row`` on ``split`` (once: a rerun skips stored keys)."""
    work_dir = osp.join(args.work_dir, split.replace('/', '-'), ROWS[row][:-3], f'seed{seed}')
    store.train_once(key, osp.join(CONFIGS, ROWS[row]), work_dir,
                     run_options(args, row, split, seed), METRICS)


def choose_split(args, runs):
    """The largest candidate split that full labels beat by ``min_room`` teacher mIoU points."""
    if args.split:
        return args.split
    full = mean_std([r[METRICS[1]] for r in runs_of(runs, 'room', 'full').values()])[0]
    candidates = [s for s in SPLITS if s != 'full' and s in args.room_splits]
    for split in candidates:  # largest fraction first
        if full - mean_std([r[METRICS[1]] for r in runs_of(runs, 'room', split).values()])[0] \
                >= args.min_room:
            return split
    return candidates[-1]


def summarize(args, runs, split):
    """Room entries, then per row: student / teacher mIoU mean and std, step time ratio."""
    table = []
    for room_split in args.room_splits:
        done = runs_of(runs, 'room', room_split)
        if done:
            table.append(summary_entry(done, METRICS, split='room',
                                       row=f'{SUPERVISED} @ {room_split}'))
    base = runs_of(runs, split, SUPERVISED)
    for row in args.rows:
        done = runs_of(runs, split, row)
        if done:
            table.append(summary_entry(done, METRICS, base, split=split, row=row))
    return table


def markdown(table):
    return markdown_table(
        ['labels', 'row', 'student mIoU', 'teacher mIoU', 'seeds', 'step time'],
        [[e['split'], e['row'], *(mean_std_cell(e, m) for m in METRICS), e['seeds'],
          ratio_cell(e, 'step_time_s_ratio')] for e in table])


def main(argv=None):
    args = parse_args(argv)
    store = ResultStore(args.json, environment(),
                        {'iters': args.iters, 'crop': args.crop, 'lr': args.lr,
                         'quick': args.quick, **init_settings(args)}, args.data_root)
    for seed in args.seeds:
        for split in args.room_splits:
            train(args, store, f'room|{split}|{seed}', SUPERVISED, split, seed)
    split = choose_split(args, store.current())
    print(f'benchmark split: {split}', flush=True)
    for seed in args.seeds:
        room = store.current().get(f'room|{split}|{seed}')
        if SUPERVISED in args.rows and room:  # the same training: stored under both keys
            supervised = f'{split}|{SUPERVISED}|{seed}'
            if not store.done(supervised, room['fingerprint']):
                store.add(supervised, room, room['fingerprint'])
        for row in args.rows:
            train(args, store, f'{split}|{row}|{seed}', row, split, seed)
    table = summarize(args, store.current(), split)
    store.save(split=split, table=table, markdown=markdown(table))
    print(markdown(table))
    return 0


if __name__ == '__main__':
    sys.exit(main())
