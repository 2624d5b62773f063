"""Evaluate a checkpoint on a config's test set (mmseg's command line)."""
import argparse
import logging
import os

from mmengine.config import DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

import densecl  # noqa: F401  (registers datasets and models, safe loading)
from densecl.engine import (checkpoint_mismatch, load_config,
                            setup_cpu_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Test a segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation logs')
    parser.add_argument(
        '--out', help='directory where raw label-map predictions are saved')
    parser.add_argument(
        '--show-dir', help='directory where painted predictions are saved')
    parser.add_argument(
        '--show', action='store_true', help='show predictions in a window')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='show interval (s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. test_dataloader.batch_size=2')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='evaluate a checkpoint whose keys do not all fit the model '
        '(missing, unexpected or mis-sized); the result says so')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation with the config\'s tta_pipeline')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_visualization(cfg, args):
    """Let mmseg's SegVisualizationHook draw predictions during testing."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ValueError("--show/--show-dir need default_hooks.visualization "
                         '(SegVisualizationHook) in the config')
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir
        hook['interval'] = 1  # mmseg 1.2.2 draws only every `interval` iters


def enable_tta(cfg):
    """Evaluate through the config's test-time augmentation model."""
    missing = [key for key in ('tta_model', 'tta_pipeline') if key not in cfg]
    if missing:
        raise ValueError(f'--tta needs {" and ".join(missing)} in the config '
                         '(configs/_base_/datasets/toyscenes.py has an '
                         'example)')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    setup_cpu_distributed(cfg)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        enable_visualization(cfg, args)
    if args.tta:
        enable_tta(cfg)
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
    runner = Runner.from_cfg(cfg)
    mismatch = checkpoint_mismatch(runner.model, args.checkpoint)
    if mismatch and not args.non_strict:
        raise SystemExit(f'error: {args.checkpoint} does not fit the model of '
                         f'{args.config}:\n{mismatch}\nPass --non-strict to '
                         'evaluate it anyway.')
    runner.test()
    if mismatch:
        print_log(
            'NON-STRICT: the metrics above are of a model whose weights only '
            f'partly come from {args.checkpoint} (--non-strict; mismatched '
            'keys listed above); they do not measure the checkpoint',
            logger='current', level=logging.WARNING)


if __name__ == '__main__':
    main()
