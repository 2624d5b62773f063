"""Learning curves that choose the toyscenes benchmark schedule: scratch vs pretrained start.

The supervised DeepLabV3+ R18 baseline (the semi-supervised benchmark's supervised-only config:
student and EMA teacher, 4 labelled images per step, AdamW at ``--lr``) is trained from random
weights and from the procedural-ImageNet backbone (``make pretrained``), at full labels and at
the semi-supervised split, ``--seeds`` each, for ``--iters`` iterations with val mIoU every
``--val-interval``. Per start, the schedule chosen is the shortest logged iteration at which

- the full-label student is within ``--tolerance`` points of its plateau (the best mean over
  seeds on the curve), and
- full labels still beat the split by ``--min-room`` points (means over seeds),

the rule every method benchmark's schedule follows (docs/toyscenes.md, the schedule). The curves
go to ``--json`` and are drawn in ``--png``. Every training runs through tools/train.py; a
rerun skips finished runs.

Example::

    python tools/benchmark_schedule.py                  # docs/benchmark_schedule.{json,png}
    python tools/benchmark_schedule.py --quick --data-root DIR --json /tmp/s.json --png /tmp/s.png
"""
import argparse
import os.path as osp
import sys

from densecl.engine.benchmark import (ResultStore, config_fingerprint, environment,
                                      init_cfg_options, init_settings, mean_std, quick_options,
                                      schedule_options, split_file, train)

CONFIG = 'configs/semi/deeplabv3plus_r18-d16_supervised_1k_toyscenes-1-16-128x128.py'
SPLITS = ('full', '1/64', '1/32', '1/16')
INITS = ('scratch', 'pretrained')
METRICS = ('student/mIoU', 'teacher/mIoU')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', default='docs/benchmark_schedule.json')
    parser.add_argument('--png', default='docs/benchmark_schedule.png')
    parser.add_argument('--work-dir', default='work_dirs/benchmark_schedule')
    parser.add_argument('--data-root', default='data/toyscenes')
    parser.add_argument('--pretrained', default='data/pretrained/resnet18_v1c_procedural.pth',
                        help='backbone of the pretrained curves (`make pretrained`)')
    parser.add_argument('--inits', nargs='+', choices=INITS, default=list(INITS))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--split', choices=[s for s in SPLITS if s != 'full'], default='1/64',
                        help='the label split whose room is kept (the semi benchmark\'s)')
    parser.add_argument('--iters', type=int, default=1000, help='length of every curve')
    parser.add_argument('--val-interval', type=int, default=100)
    parser.add_argument('--lr', type=float, default=0.003, help='AdamW peak learning rate '
                        '(the semi-supervised and UDA benchmarks\')')
    parser.add_argument('--tolerance', type=float, default=2.0,
                        help='mIoU points below the plateau that count as reached')
    parser.add_argument('--min-room', type=float, default=15.0,
                        help='mIoU points full labels must beat the split by')
    parser.add_argument('--quick', action='store_true',
                        help='1 seed, 4 iterations, val every 2: checks that every curve runs')
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.iters, args.val_interval = args.seeds[:1], 4, 2
    return args


def run_options(args, init, split, seed):
    """--cfg-options of one curve: data, split, seed, schedule, validation interval, start."""
    labeled = 'train_dataloader.dataset'
    options = {'randomness.seed': seed, **schedule_options(args.iters, args.lr),
               'train_cfg.val_interval': args.val_interval,
               f'{labeled}.ann_file': split_file(split), f'{labeled}.data_root': args.data_root,
               'val_dataloader.dataset.data_root': args.data_root,
               'test_dataloader.dataset.data_root': args.data_root,
               **init_cfg_options(CONFIG, argparse.Namespace(init=init,
                                                             pretrained=args.pretrained))}
    return {**options, **quick_options(args.quick)}


def train_curve(args, store, backbone, init, split, seed):
    """Train one curve (once: a rerun skips stored keys) and store its val records;
    ``backbone`` (settings of the pretrained file, with its sha256) keys the pretrained runs."""
    key = f'{init}|{split}|{seed}'
    options = run_options(args, init, split, seed)
    fingerprint = config_fingerprint(CONFIG, options, *([backbone] if init != 'scratch' else []))
    if store.done(key, fingerprint):
        return
    print(f'training {key} ...', flush=True)
    work_dir = osp.join(args.work_dir, init, split.replace('/', '-'), f'seed{seed}')
    costs, records = train(CONFIG, work_dir, options)
    evaluated = [r for r in records if METRICS[0] in r]
    curve = {'iters': [r['step'] for r in evaluated],
             **{metric: [r[metric] for r in evaluated] for metric in METRICS}}
    print(f'  {METRICS[0]} ' + ' '.join(f'{v:.1f}' for v in curve[METRICS[0]]), flush=True)
    store.add(key, {**costs, **curve}, fingerprint)


def mean_curve(runs, metric):
    """(iterations, mean over the runs per iteration) of runs with the same val iterations."""
    iters = runs[0]['iters']
    return iters, [mean_std([run[metric][i] for run in runs])[0] for i in range(len(iters))]


def choose_schedule(full, split, tolerance, min_room):
    """The shortest logged iteration where the mean full-label curve ``full`` is within
    ``tolerance`` of its best value and beats ``split`` by ``min_room`` (both (iters, mIoU));
    the reason in words. None when no iteration meets both."""
    iters, full_miou = full
    plateau = max(full_miou)
    for step, value, low in zip(iters, full_miou, split[1]):
        if value >= plateau - tolerance and value - low >= min_room:
            return step, (f'full labels at {value:.1f} (plateau {plateau:.1f}), '
                          f'room {value - low:.1f} points over the split')
    return None, f'no iteration within {tolerance} of the plateau {plateau:.1f} with ' \
        f'{min_room} points of room'


def summarize(args, runs):
    """Per start: mean curves of each split and metric, seeds, the chosen schedule."""
    summary = {}
    for init in args.inits:
        curves = {}
        for split in ('full', args.split):
            done = [runs[f'{init}|{split}|{s}'] for s in args.seeds
                    if f'{init}|{split}|{s}' in runs]
            if done:
                curves[split] = {'seeds': len(done), 'step_time_s': mean_std(
                    [r['step_time_s'] for r in done])[0]}
                for metric in METRICS:
                    curves[split]['iters'], curves[split][metric] = mean_curve(done, metric)
        if len(curves) == 2:
            pick = [(curves[s]['iters'], curves[s][METRICS[0]]) for s in ('full', args.split)]
            curves['schedule'], curves['reason'] = choose_schedule(*pick, args.tolerance,
                                                                   args.min_room)
        summary[init] = curves
    return summary


def draw(args, runs, summary):
    """Every curve (thin: seeds; thick: mean), one panel per start, into ``args.png``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, len(args.inits), figsize=(5.5 * len(args.inits), 4),
                                sharey=True, squeeze=False)
    colors = {'full': 'tab:blue', args.split: 'tab:orange'}
    for axis, init in zip(axes[0], args.inits):
        for split, color in colors.items():
            for seed in args.seeds:
                run = runs.get(f'{init}|{split}|{seed}')
                if run:
                    axis.plot(run['iters'], run[METRICS[0]], color=color, alpha=0.3, lw=0.8)
            if split in summary[init]:
                mean = summary[init][split]
                axis.plot(mean['iters'], mean[METRICS[0]], color=color, lw=2,
                          label=f'{split} labels, student ({mean["seeds"]} seeds)')
                axis.plot(mean['iters'], mean[METRICS[1]], color=color, lw=1.2, ls='--',
                          label=f'{split} labels, EMA teacher')
        chosen = summary[init].get('schedule')
        if chosen:
            axis.axvline(chosen, color='k', ls=':', label=f'chosen: {chosen} iterations')
        axis.set_title(f'DeepLabV3+ R18 from {init} backbone')
        axis.set_xlabel('iteration')
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8, loc='upper left')
    axes[0][0].set_ylabel('toyscenes val mIoU')
    figure.tight_layout()
    figure.savefig(args.png, dpi=110)
    plt.close(figure)


def main(argv=None):
    args = parse_args(argv)
    settings = {'iters': args.iters, 'val_interval': args.val_interval, 'lr': args.lr,
                'split': args.split, 'quick': args.quick}
    start = 'pretrained' if 'pretrained' in args.inits else 'scratch'
    backbone = init_settings(argparse.Namespace(init=start, pretrained=args.pretrained))
    store = ResultStore(args.json, environment(), settings, args.data_root)
    for seed in args.seeds:  # seed 0 of every curve first: a partial file is already a table
        for init in args.inits:
            for split in ('full', args.split):
                train_curve(args, store, backbone.get('pretrained'), init, split, seed)
    summary = summarize(args, store.current())
    store.save(summary=summary)
    draw(args, store.current(), summary)
    for init, curves in summary.items():
        print(f'{init}: schedule {curves.get("schedule")} ({curves.get("reason", "")})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
