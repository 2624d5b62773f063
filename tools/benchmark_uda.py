"""Benchmark domain-adaptive segmentation (SePiCo) on toyscenes source -> target.

Per seed, a source-only warm-up (``--warmup-iters``) trains the model every row starts from
(``init_checkpoint``; a new projection head starts at its initialisation): from scratch, the
EMA teacher labels the target while the student is still on the background/sky plateau and
self-training locks those labels in (configs/sepico/README.md). Then every row trains ``--iters``
more iterations, all DeepLabV3+ R18 (configs/sepico) with the same source images per step (4), the
same target images per step (4, adaptation rows), schedule, crop and augmentation, evaluated
on target_val (student and EMA teacher):

- room: target-supervised (the source-only config trained on target_train with its labels,
  the upper bound) against source-only;
- source-only (the warm-up continued), self-training (DACS ClassMix, no contrast), SePiCo
  ProtoCL, BankCL, DistCL, as SePiCo's release trains them (train-mode EMA teacher,
  projection of the backbone's C5, colour jitter and blur inside the step, ClassMix of the
  batch's label values, contrast from ``--contrast-start`` of the iterations);
- densecl's earlier choices as options of ProtoCL: an eval-mode teacher (EMA BN statistics),
  and the projection of the decoder features.

Every training runs through tools/train.py; target_val mIoU is reported as mean and std over
seeds, step time relative to source-only. Each checkpoint is also evaluated (teacher) after
AdaBN, i.e. with its BatchNorm statistics re-estimated on the target_train images
(tools/recalibrate_bn.py): how much of a row's gain a label-free statistics swap already
gives. Results are saved after every training and evaluation; a rerun skips finished ones, so
the benchmark can be finished in several runs.

Example::

    python tools/benchmark_uda.py                      # the table of configs/sepico/README.md
    python tools/benchmark_uda.py --quick --data-root DIR --json /tmp/b.json
"""
import argparse
import os.path as osp
import sys

from densecl.engine.benchmark import (ResultStore, add_init_arguments, add_schedule_arguments,
                                      config_fingerprint, environment, evaluate_recalibrated,
                                      init_cfg_options, init_json, init_settings, markdown_table,
                                      mean_std_cell, quick_options, ratio_cell, runs_of,
                                      schedule_options, summary_entry)

CONFIGS = 'configs/sepico'
SOURCE_ONLY = 'source-only'
WARM_UP = 'source-only warm-up'
ORACLE = 'target-supervised (room)'
CONFIG_OF = {
    ORACLE: 'source-only',
    SOURCE_ONLY: 'source-only',
    'self-training': 'self-training',
    'SePiCo ProtoCL': 'sepico-proto',
    'SePiCo BankCL': 'sepico-bank',
    'SePiCo DistCL': 'sepico-dist',
    'SePiCo ProtoCL, eval-mode teacher': 'sepico-proto-eval-teacher',
    'SePiCo ProtoCL, decoder projection': 'sepico-proto-decoder-proj',
}
ROWS = list(CONFIG_OF)
METRICS = ('student/mIoU', 'teacher/mIoU')
ADABN = 'AdaBN'  # key prefix of the recalibrated evaluations
ADABN_METRIC = 'AdaBN teacher/mIoU'


def config_path(row):
    return osp.join(CONFIGS, f'deeplabv3plus_r18-d16_{CONFIG_OF[row]}_1k_toyscenes-source2target'
                    '-128x128.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', help='default: docs/benchmark_uda[_pretrained].json')
    parser.add_argument('--work-dir', default='work_dirs/benchmark_uda',
                        help='runs go to WORK_DIR/<init>')
    parser.add_argument('--data-root', default='data/toyscenes')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    add_schedule_arguments(parser, 'configs/sepico/README.md', iters=500)
    add_init_arguments(parser)
    parser.add_argument('--warmup-iters', type=int, default=1000,
                        help='source-only iterations (per seed) that every row starts from')
    parser.add_argument('--teacher-momentum', type=float, default=0.01,
                        help="every row's mmengine EMA momentum (1 - alpha); the configs' 0.001 "
                        '(alpha 0.999, 40k-iteration schedules) leaves the teacher an average '
                        'of nearly all iterates of a few hundred iterations')
    parser.add_argument('--contrast-start', type=float, default=0.075,
                        help="share of a row's iterations before its contrast starts (the "
                        "release's 3000 of 40k)")
    parser.add_argument('--rows', nargs='+', choices=ROWS, default=ROWS)
    parser.add_argument('--quick', action='store_true',
                        help='1 seed, 2 iterations, batch 2 + 2: checks that every row runs')
    args = parser.parse_args(argv)
    args.json = args.json or init_json('docs/benchmark_uda.json', args.init)
    args.work_dir = osp.join(args.work_dir, args.init)
    if args.quick:
        args.seeds, args.iters, args.warmup_iters = args.seeds[:1], 2, 2
    return args


def run_options(args, row, seed, iters):
    """--cfg-options of one training: data, seed, crop and schedule."""
    crop = f'({args.crop},{args.crop})'
    adapting = CONFIG_OF[row] not in ('source-only', )
    source = 'train_dataloader.dataset.source' if adapting else 'train_dataloader.dataset'
    options = {'randomness.seed': seed, **schedule_options(iters, args.lr),
               **init_cfg_options(config_path(row), args),
               'model.data_preprocessor.size': crop,
               'model.teacher_momentum': args.teacher_momentum,
               f'{source}.data_root': args.data_root,
               f'{source}.pipeline.4.crop_size': crop,  # RandomCrop of train_pipeline
               'val_dataloader.dataset.data_root': args.data_root,
               'test_dataloader.dataset.data_root': args.data_root}
    if row == ORACLE:
        options.update({f'{source}.data_prefix.img_path': 'img_dir/target_train',
                        f'{source}.data_prefix.seg_map_path': 'ann_dir/target_train'})
    if adapting:
        options.update({'model.contrast_start_iter': round(args.contrast_start * iters),
                        'train_dataloader.dataset.target.data_root': args.data_root,
                        'train_dataloader.dataset.target.pipeline.2.crop_size': crop})
    return {**options, **quick_options(args.quick, two_streams=adapting)}


def work_dir_of(args, row, seed):
    """(work dir, final checkpoint) of ``row`` trained with ``seed``."""
    if row == WARM_UP:
        work_dir = osp.join(args.work_dir, 'warm-up', f'seed{seed}')
        return work_dir, osp.abspath(osp.join(work_dir, f'iter_{args.warmup_iters}.pth'))
    work_dir = osp.join(args.work_dir, CONFIG_OF[row] + ('-oracle' if row == ORACLE else ''),
                        f'seed{seed}')
    return work_dir, osp.join(work_dir, f'iter_{args.iters}.pth')


def train_rows(args, store, seed):
    """Train (once) each row of ``seed`` from the source-only warm-up, which is trained first
    when a row needs it; the fingerprint of every row that is current, the warm-up's first."""
    warm_config = config_path(SOURCE_ONLY)
    warm_options = run_options(args, SOURCE_ONLY, seed, args.warmup_iters)
    warm_dir, checkpoint = work_dir_of(args, WARM_UP, seed)
    warm = config_fingerprint(warm_config, warm_options)
    start = {'model.init_checkpoint': checkpoint,
             'model.init_new_modules': '[auxiliary_head]'}  # the contrast rows' projection head
    rows = {row: (config_path(row), {**run_options(args, row, seed, args.iters), **start})
            for row in args.rows}
    pending = [row for row, (config, options) in rows.items()
               if not store.done(f'{row}|{seed}', config_fingerprint(config, options, warm))]
    if pending and not osp.isfile(checkpoint):  # results kept, work dir removed
        store.forget(f'{WARM_UP}|{seed}')
    store.train_once(f'{WARM_UP}|{seed}', warm_config, warm_dir, warm_options, METRICS)
    fingerprints = {WARM_UP: warm}
    for row, (config, options) in rows.items():
        fingerprints[row] = store.train_once(f'{row}|{seed}', config,
                                             work_dir_of(args, row, seed)[0], options, METRICS,
                                             upstream=(warm, ))
    return fingerprints


def recalibrate_rows(args, store, seed, fingerprints):
    """Evaluate each trained row's teacher after AdaBN on target_train (once per checkpoint)."""
    options = {'test_dataloader.dataset.data_root': args.data_root,
               **quick_options(args.quick, ['test_dataloader'])}
    for row, trained in fingerprints.items():
        key = f'{ADABN}|{row}|{seed}'
        work_dir, checkpoint = work_dir_of(args, row, seed)
        config = config_path(SOURCE_ONLY if row == WARM_UP else row)
        fingerprint = config_fingerprint(config, options, trained)
        if store.done(key, fingerprint):
            continue
        if not osp.isfile(checkpoint):
            print(f'{key}: no {checkpoint} (work dir removed?), not evaluated', flush=True)
            continue
        result = evaluate_recalibrated(config, checkpoint, 'img_dir/target_train',
                                       osp.join(work_dir, 'adabn'), options, ('mIoU', ))
        print(f"{key}: {result['mIoU']:.2f}", flush=True)
        store.add(key, {ADABN_METRIC: result['mIoU'], 'test_wall_s': result['test_wall_s']},
                  fingerprint)


def summarize(args, runs):
    """Per row (the warm-up first): student / teacher target_val mIoU mean and std, step time
    vs source-only."""
    base = runs_of(runs, SOURCE_ONLY)
    table = []
    for row in (WARM_UP, *args.rows):
        if runs_of(runs, row):
            entry = summary_entry(runs_of(runs, row), METRICS, base, row=row)
            adabn = summary_entry(runs_of(runs, ADABN, row), (ADABN_METRIC, ))
            table.append({**entry, **adabn, 'seeds': entry['seeds'], 'AdaBN seeds': adabn['seeds']})
    return table


def markdown(table):
    return markdown_table(
        ['row', 'student target mIoU', 'teacher target mIoU', 'seeds', 'step time',
         'teacher after AdaBN'],
        [[e['row'], *(mean_std_cell(e, m) for m in METRICS), e['seeds'],
          ratio_cell(e, 'step_time_s_ratio'), mean_std_cell(e, ADABN_METRIC)] for e in table])


def main(argv=None):
    args = parse_args(argv)
    store = ResultStore(args.json, environment(),
                        {'warmup_iters': args.warmup_iters, 'iters': args.iters, 'crop': args.crop,
                         'lr': args.lr, 'quick': args.quick,
                         'teacher_momentum': args.teacher_momentum,
                         'contrast_start': args.contrast_start, **init_settings(args)},
                        args.data_root)
    for seed in args.seeds:
        recalibrate_rows(args, store, seed, train_rows(args, store, seed))
    table = summarize(args, store.current())
    store.save(table=table, markdown=markdown(table))
    print(markdown(table))
    return 0


if __name__ == '__main__':
    sys.exit(main())
