"""Benchmark pixel-wise OoD detection on toyscenes: closed-set baselines vs RPL and RPL + CoroCL.

The closed-set DeepLabV3+ R18 (configs/rpl/) is trained once (seed 0); its
max softmax probability, max logit and energy are the baselines. RPL and
RPL + CoroCL as their release runs them, and each densecl option (RPL with
AdamW and one learning rate instead of the released Adam with 10x for the
random conv; RPL + CoroCL over every pixel of the four CoroCL pools instead
of the released sample, or with CoroCL weight 0.1 instead of 1.0), are
trained from it for each seed, through tools/train.py. Every row is tested on ood_val through
tools/test.py (AUROC, AP, FPR95 by OoDMetric, same blur for all rows) and
reports val mIoU, which RPL must keep within 0.5 of the closed-set model.
Results are saved after every run; a rerun skips finished ones.

Example::

    python tools/benchmark_ood.py                         # the table of configs/rpl/README.md
    python tools/benchmark_ood.py --quick --data-root DIR --json /tmp/b.json
"""
import argparse
import os.path as osp
import sys

from densecl.engine.benchmark import (ResultStore, add_init_arguments, config_fingerprint,
                                      environment, evaluate_checkpoint, init_cfg_options,
                                      init_json, init_settings, markdown_table, mean_std_cell,
                                      quick_options, ratio_cell, runs_of, schedule_options,
                                      summary_entry, train_and_evaluate)

CONFIGS = 'configs/rpl'
CLOSED_SET = 'deeplabv3plus_r18-d16_closed-set_1k_toyscenes-128x128.py'
BASELINES = {'MSP': 'msp', 'max logit': 'max_logit', 'energy': 'energy'}
ROWS = {
    'RPL': 'deeplabv3plus_r18-d16_rpl_500_toyscenes-128x128.py',
    'RPL, AdamW (densecl option)': 'deeplabv3plus_r18-d16_rpl-adamw_500_toyscenes-128x128.py',
    'RPL+CoroCL': 'deeplabv3plus_r18-d16_rpl-corocl_500_toyscenes-128x128.py',
    'RPL+CoroCL, all pixels (densecl option)':
    'deeplabv3plus_r18-d16_rpl-corocl-allpix_500_toyscenes-128x128.py',
    'RPL+CoroCL, CoroCL weight 0.1 (densecl option)':
    'deeplabv3plus_r18-d16_rpl-corocl-lw0.1_500_toyscenes-128x128.py',
}
OOD_METRICS = ('AUROC', 'AP', 'FPR95', 'FPR95_first')
OUTLIER_STEP = 5  # index of PasteOutliers in the RPL train pipelines
MIOU_TOLERANCE = 0.5


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', help='default: docs/benchmark_ood[_pretrained].json')
    parser.add_argument('--work-dir', default='work_dirs/benchmark_ood',
                        help='runs go to WORK_DIR/<init>')
    parser.add_argument('--data-root', default='data/toyscenes')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--closed-set-iters', type=int, default=1000)
    parser.add_argument('--iters', type=int, default=300, help='RPL training iterations per run')
    parser.add_argument('--rows', nargs='+', choices=list(ROWS), default=list(ROWS))
    parser.add_argument('--quick', action='store_true',
                        help='1 seed, 2 iterations, batch 2: checks that every row runs')
    add_init_arguments(parser)
    args = parser.parse_args(argv)
    args.json = args.json or init_json('docs/benchmark_ood.json', args.init)
    args.work_dir = osp.join(args.work_dir, args.init)
    if args.quick:
        args.seeds, args.iters, args.closed_set_iters = args.seeds[:1], 2, 2
    return args


def data_options(args):
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    return {**{f'{loader}.dataset.data_root': args.data_root for loader in loaders},
            **quick_options(args.quick, loaders)}


def train_options(args, iters, seed):
    """Data, seed, schedule and backbone start (every row's backbone is model.backbone)."""
    return {**data_options(args), 'randomness.seed': seed, **schedule_options(iters),
            **init_cfg_options(osp.join(CONFIGS, CLOSED_SET), args)}


def summarize(runs):
    """One table entry per row: OoD metrics and val mIoU as mean/std over seeds, costs."""
    closed = runs.get('closed-set')
    table = []
    for row in [*BASELINES, *ROWS]:
        done = runs_of(runs, row)
        if not done:
            continue
        entry = summary_entry(done, (*OOD_METRICS, 'mIoU'), {'': closed} if closed else None,
                              ('step_time_s', 'peak_rss_mib'), row=row)
        if closed:
            entry['mIoU_delta'] = entry['mIoU'] - closed['mIoU']
        table.append(entry)
    return table


def markdown(table, closed):
    rows = []
    for e in table:
        delta = f" ({e['mIoU_delta']:+.2f})" if 'mIoU_delta' in e else ''
        scores = [mean_std_cell(e, m) for m in ('AUROC', 'AP', 'FPR95', 'FPR95_first')]
        rows.append([e['row'], *scores, f"{e['mIoU']:.1f}{delta}", e['seeds'],
                     ratio_cell(e, 'step_time_s_ratio'), ratio_cell(e, 'peak_rss_mib_ratio')])
    caption = f'closed-set DeepLabV3+ R18: val mIoU {closed["mIoU"]:.1f}' if closed else ''
    return caption + '\n\n' + markdown_table(
        ['row', 'AUROC', 'AP', 'FPR95', 'FPR95 (first TPR >= 95%)', 'val mIoU (Δ closed-set)',
         'seeds', 'step time', 'peak memory'], rows)


def main(argv=None):
    args = parse_args(argv)
    store = ResultStore(args.json, environment(),
                        {'closed_set_iters': args.closed_set_iters, 'iters': args.iters,
                         'quick': args.quick, **init_settings(args)}, args.data_root)
    closed_config = osp.join(CONFIGS, CLOSED_SET)
    closed_dir = osp.join(args.work_dir, 'closed-set')
    checkpoint = osp.join(closed_dir, f'iter_{args.closed_set_iters}.pth')
    closed_fp = store.train_once('closed-set', closed_config, closed_dir,
                                 train_options(args, args.closed_set_iters, 0))
    for row, score in BASELINES.items():
        options = {**data_options(args), 'model.score': score}
        fingerprint = config_fingerprint(closed_config, options, closed_fp)
        if not store.done(row, fingerprint):
            print(f'testing {row} ...', flush=True)
            result = evaluate_checkpoint(closed_config, checkpoint,
                                         osp.join(closed_dir, f'test_{score}'), options,
                                         OOD_METRICS)
            store.add(row, {**result, 'mIoU': store.current()['closed-set']['mIoU']},
                      fingerprint)
    for seed in args.seeds:
        for row in args.rows:
            key = f'{row}|{seed}'
            config = osp.join(CONFIGS, ROWS[row])
            options = {**train_options(args, args.iters, seed),
                       'model.closed_set_checkpoint': checkpoint,
                       f'train_dataloader.dataset.pipeline.{OUTLIER_STEP}.outlier_root':
                       osp.join(args.data_root, 'outliers')}
            fingerprint = config_fingerprint(config, options, closed_fp)
            if store.done(key, fingerprint):
                continue
            work_dir = osp.join(args.work_dir, ROWS[row][:-3], f'seed{seed}')
            print(f'training {key} ...', flush=True)
            result = train_and_evaluate(config, work_dir, options)
            result.update(evaluate_checkpoint(
                config, osp.join(work_dir, f'iter_{args.iters}.pth'), osp.join(work_dir, 'test'),
                data_options(args), OOD_METRICS))
            print(f"  AUROC {result['AUROC']:.2f}  AP {result['AP']:.2f}  FPR95 "
                  f"{result['FPR95']:.2f}  mIoU {result['mIoU']:.2f}  step "
                  f"{result['step_time_s']:.2f} s", flush=True)
            store.add(key, result, fingerprint)
    closed = store.current()['closed-set']
    table = summarize(store.current())
    worst = max((abs(e['mIoU_delta']) for e in table if e['row'] in ROWS), default=0.0)
    store.save(table=table, markdown=markdown(table, closed),
               miou_within_tolerance=worst <= MIOU_TOLERANCE)
    print(markdown(table, closed))
    if worst > MIOU_TOLERANCE:
        print(f'RPL changed val mIoU by {worst:.2f} > {MIOU_TOLERANCE}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
