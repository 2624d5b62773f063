"""Benchmark dense self-supervised pretraining on toyscenes by transfer to segmentation.

Rows: random init, supervised (procedural ImageNet: the ``make pretrained`` backbone, with
``--init pretrained``), DenseCL, PixPro, PixContrast, PixPro+PixContrast: the comparison of
the DenseCL and PixPro papers. For each
seed, every pretraining row trains its config (configs/densecl/, configs/pixpro/)
on the unlabeled split with the same budget (iterations, batch, views, schedule)
through tools/train.py; tools/extract_backbone.py keeps its backbone, and
tools/analyze_dense_features.py measures its dense alignment and uniformity.
Every row's backbone is then transferred twice:
(a) linear probe: frozen backbone + 1x1 conv classifier, all training labels
    (configs/selfsup_transfer/);
(b) fine-tuning the quickstart FCN (configs/quickstart/) with the 1/16 split.
Val mIoU is reported as mean and std over seeds with each method's pretraining
step time. Results are saved after every step; a rerun skips finished ones.

Example::

    python tools/benchmark_pretrain.py                    # the table of configs/densecl/README.md
    python tools/benchmark_pretrain.py --quick --data-root DIR --json /tmp/b.json
"""
import argparse
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

from densecl.engine.benchmark import (ROOT, ResultStore, add_init_arguments,
                                      config_fingerprint, environment, init_json, init_settings,
                                      markdown_table, mean_std_cell, quick_options, runs_of,
                                      schedule_options, summary_entry, train, train_and_evaluate)

PRETRAIN = {
    'DenseCL': 'configs/densecl/densecl_r18-d16_300_toyscenes-64x64.py',
    'PixPro': 'configs/pixpro/pixpro_r18-d16_300_toyscenes-64x64.py',
    'PixPro (pixel-edge crops)': 'configs/pixpro/pixpro_pixel-edges_r18-d16_300_toyscenes-64x64.py',
    'PixContrast': 'configs/pixpro/pixcontrast_r18-d16_300_toyscenes-64x64.py',
    'PixPro+PixContrast': 'configs/pixpro/pixpro-pixcontrast_r18-d16_300_toyscenes-64x64.py',
}
RANDOM_INIT = 'random init'
SUPERVISED = 'supervised (procedural ImageNet)'
ROWS = [RANDOM_INIT, SUPERVISED, *PRETRAIN]
LINEAR_PROBE = 'configs/selfsup_transfer/linear-probe_r18-d16_1k_toyscenes-128x128.py'
FINETUNE = 'configs/quickstart/fcn_r18-d16_1k_toyscenes-128x128.py'
FINETUNE_SPLIT = 'splits/train_1-16.txt'
# Budget for 150 minutes on a 2-core CPU (see docs/readme_pretrain.md for the step times).
PRETRAIN_ITERS, PROBE_ITERS, FINETUNE_ITERS = 300, 200, 200
MEASURED = ('probe_mIoU', 'finetune_mIoU', 'alignment', 'uniformity', 'pretrain_step_time_s')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', help='default: docs/benchmark_pretrain[_pretrained].json')
    parser.add_argument('--work-dir', default='work_dirs/benchmark_pretrain',
                        help='runs go to WORK_DIR/<init>')
    parser.add_argument('--data-root', default='data/toyscenes')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--iters', type=int, default=PRETRAIN_ITERS,
                        help='pretraining iterations, the same for every method')
    parser.add_argument('--probe-iters', type=int, default=PROBE_ITERS)
    parser.add_argument('--finetune-iters', type=int, default=FINETUNE_ITERS)
    parser.add_argument('--rows', nargs='+', choices=ROWS,
                        help=f'default: all ({SUPERVISED!r} only with --init pretrained)')
    parser.add_argument('--quick', action='store_true',
                        help='1 seed, 2 iterations of each training, batch 2: checks that '
                        'every step runs')
    add_init_arguments(parser)
    args = parser.parse_args(argv)
    if args.init == 'scratch' and args.rows and SUPERVISED in args.rows:
        parser.error(f'row {SUPERVISED!r} is the --pretrained backbone: needs --init pretrained')
    args.rows = args.rows or [row for row in ROWS if args.init == 'pretrained'
                              or row != SUPERVISED]
    args.json = args.json or init_json('docs/benchmark_pretrain.json', args.init)
    args.work_dir = osp.join(args.work_dir, args.init)
    if args.quick:
        args.seeds = args.seeds[:1]
        args.iters = args.probe_iters = args.finetune_iters = 2
    return args


def loader_options(args, loaders):
    return {**{f'{loader}.dataset.data_root': args.data_root for loader in loaders},
            **quick_options(args.quick, loaders)}


def pretrain_options(args, seed):
    return {'randomness.seed': seed, **schedule_options(args.iters, validate=False),
            **loader_options(args, ['train_dataloader'])}


def transfer_options(args, seed, iters, backbone, split=None):
    options = {'randomness.seed': seed, **schedule_options(iters),
               **loader_options(args, ['train_dataloader', 'val_dataloader',
                                       'test_dataloader'])}
    if split:
        options['train_dataloader.dataset.ann_file'] = split
    if backbone:
        options['model.backbone.init_cfg.checkpoint'] = backbone
    else:
        options['model.backbone.init_cfg'] = None
    return options


def run_tool(name, *args):
    """Run ``tools/<name>.py args``; raise with its output's tail when it fails."""
    result = subprocess.run([sys.executable, osp.join(ROOT, 'tools', f'{name}.py'), *args],
                            cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f'{name} failed:\n{(result.stdout + result.stderr)[-3000:]}')


def pretrain(args, row, seed, work_dir):
    """Pretrain and extract the backbone to ``work_dir``/backbone.pth; the costs."""
    costs, _ = train(PRETRAIN[row], work_dir, pretrain_options(args, seed))
    run_tool('extract_backbone', osp.join(work_dir, f'iter_{args.iters}.pth'),
             osp.join(work_dir, 'backbone.pth'), '--force')
    return costs


def dense_metrics(args, work_dir, backbone):
    """Alignment and uniformity of a backbone on DenseCL's two-view data (seed 0 views)."""
    os.makedirs(work_dir, exist_ok=True)
    out = osp.join(work_dir, 'dense_metrics.json')
    options = [f'{key}={value}' for key, value in
               loader_options(args, ['train_dataloader']).items()]
    run_tool('analyze_dense_features', PRETRAIN['DenseCL'], '--json', out,
             *(['--checkpoint', backbone] if backbone else []),
             *(['--batches', '1'] if args.quick else []), '--cfg-options', *options)
    with open(out) as f:
        result = json.load(f)
    return {'alignment': result['alignment'], 'uniformity': result['uniformity']}


def mmpretrain_note():
    """Whether mmpretrain's DenseCL can be timed next to ours in this environment, and why not.

    On the CPU machines of this project onedl-mmpretrain 1.3.6 installs, but its models
    import torchvision, and the only torchvision for torch 2.13 on PyPI (0.28.0) is built
    against CUDA torch: its ops library needs libc10_cuda.so and fails to load."""
    if importlib.util.find_spec('mmpretrain') is None:
        return ('not measured: mmpretrain is not installed in this environment (onedl-mmpretrain '
                'on PyPI fits the onedl stack); the benchmark installs nothing')
    try:
        importlib.import_module('mmpretrain.models')
    except Exception as error:  # noqa: BLE001 (any import failure is the answer)
        return f'not measured: mmpretrain is installed but its models fail to import: {error!r}'
    return 'installed, but timing its DenseCL is not automated here: not measured'


def summarize(args, runs):
    """Per row: mean and std over seeds of every measured quantity."""
    return [summary_entry(runs_of(runs, row), MEASURED, row=row)
            for row in args.rows if runs_of(runs, row)]


def markdown(table):
    return markdown_table(
        ['backbone', 'linear probe mIoU', 'fine-tune 1/16 mIoU', 'alignment', 'uniformity',
         'pretraining step', 'seeds'],
        [[e['row'], mean_std_cell(e, 'probe_mIoU'), mean_std_cell(e, 'finetune_mIoU'),
          mean_std_cell(e, 'alignment', 3), mean_std_cell(e, 'uniformity', 3),
          mean_std_cell(e, 'pretrain_step_time_s', 2, ' s'), e['seeds']] for e in table])


def row_work_dir(args, row, seed):
    return osp.join(args.work_dir, row.replace(' ', '-').replace('+', '-'), f'seed{seed}')


def backbone_of(args, row, seed):
    """Where ``row``'s pretrained backbone is (None for random init)."""
    if row == RANDOM_INIT:
        return None
    if row == SUPERVISED:
        return args.pretrained
    return osp.join(row_work_dir(args, row, seed), 'pretrain', 'backbone.pth')


def row_fingerprint(args, row, seed):
    """The configs and options of every training of one (row, seed), in one fingerprint."""
    backbone = backbone_of(args, row, seed)
    upstream = [config_fingerprint(PRETRAIN[row], pretrain_options(args, seed))] \
        if row in PRETRAIN else []  # the supervised backbone's sha256 is in the settings
    upstream.append(config_fingerprint(FINETUNE, transfer_options(
        args, seed, args.finetune_iters, backbone, FINETUNE_SPLIT)))
    return config_fingerprint(LINEAR_PROBE,
                              transfer_options(args, seed, args.probe_iters, backbone), *upstream)


def run_row(args, row, seed):
    """Every step of one (row, seed): pretraining, metrics, linear probe, fine-tuning."""
    work_dir, backbone = row_work_dir(args, row, seed), backbone_of(args, row, seed)
    record = {}
    if row in PRETRAIN:
        record.update({f'pretrain_{key}': value for key, value in
                       pretrain(args, row, seed, osp.dirname(backbone)).items()})
    record.update(dense_metrics(args, work_dir, backbone))
    probe = train_and_evaluate(LINEAR_PROBE, osp.join(work_dir, 'probe'),
                               transfer_options(args, seed, args.probe_iters, backbone))
    finetune = train_and_evaluate(FINETUNE, osp.join(work_dir, 'finetune'),
                                  transfer_options(args, seed, args.finetune_iters, backbone,
                                                   FINETUNE_SPLIT))
    record.update({'probe_mIoU': probe['mIoU'], 'probe_wall_s': probe['wall_s'],
                   'finetune_mIoU': finetune['mIoU'], 'finetune_wall_s': finetune['wall_s'],
                   'finetune_step_time_s': finetune['step_time_s']})
    return record


def main(argv=None):
    args = parse_args(argv)
    settings = {'iters': args.iters, 'probe_iters': args.probe_iters,
                'finetune_iters': args.finetune_iters, 'quick': args.quick,
                **init_settings(args)}
    store = ResultStore(args.json, environment(), settings, args.data_root)
    for seed in args.seeds:
        for row in args.rows:
            key, fingerprint = f'{row}|{seed}', row_fingerprint(args, row, seed)
            if store.done(key, fingerprint):
                continue
            print(f'running {key} ...', flush=True)
            record = run_row(args, row, seed)
            print('  ' + '  '.join(f'{k} {v:.3g}' for k, v in record.items()), flush=True)
            store.add(key, record, fingerprint)
    table = summarize(args, store.current())
    store.save(table=table, markdown=markdown(table), mmpretrain=mmpretrain_note())
    print(markdown(table))
    return 0


if __name__ == '__main__':
    sys.exit(main())
