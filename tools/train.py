"""Train a densecl / mmseg model from a config (mmseg's command line)."""
import argparse
import logging
import os

from mmengine.config import DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

import densecl  # noqa: F401  (registers datasets and models, safe resume)
from densecl.engine import (resolve_pretrained, find_resume_checkpoint,
                            load_config, setup_cpu_distributed, work_dir_lock)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='resume from the newest intact checkpoint in the work_dir')
    parser.add_argument(
        '--amp', action='store_true', help='mixed-precision training')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_iters=100')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_amp(cfg):
    """Switch the optimizer wrapper to mmengine's AmpOptimWrapper."""
    wrapper = cfg.optim_wrapper.type
    if wrapper == 'AmpOptimWrapper':
        print_log('AMP training is already enabled in your config.',
                  logger='current', level=logging.WARNING)
        return
    if wrapper != 'OptimWrapper':
        raise ValueError('--amp needs optim_wrapper.type=OptimWrapper, got '
                         f'{wrapper!r}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    resolve_pretrained(cfg)  # before any data loading: names the file and `make pretrained`
    setup_cpu_distributed(cfg)
    if args.amp:
        enable_amp(cfg)
    with work_dir_lock(cfg.work_dir, args.launcher):  # a second run would mix checkpoints
        if args.resume:
            cfg.load_from = find_resume_checkpoint(cfg.work_dir)
            cfg.resume = True
        runner = Runner.from_cfg(cfg)
        runner.train()


if __name__ == '__main__':
    main()
