"""Distributed runs on machines without a GPU.

With ``--launcher pytorch`` mmengine calls ``torch.cuda.set_device`` and
wraps the model with ``device_ids=[LOCAL_RANK]``, both of which fail without
CUDA, and the shipped runtime asks for nccl, which needs GPUs. Without CUDA
the process group is started here with gloo and the model is wrapped without
device ids, and a config's ``sync_bn`` (SyncBatchNorm runs on GPUs only) is
dropped with a warning; with CUDA nothing changes.
"""
import logging

import torch
import torch.distributed as dist
from mmengine.logging import print_log


def setup_cpu_distributed(cfg):
    """Start the process group of a ``pytorch``-launched run on CPUs."""
    if cfg.launcher != 'pytorch' or torch.cuda.is_available():
        return
    dist_cfg = cfg.env_cfg.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        print_log('no CUDA device: distributed backend gloo instead of nccl',
                  logger='current', level=logging.INFO)
        dist_cfg['backend'] = 'gloo'
    if cfg.get('sync_bn'):
        print_log(f'no CUDA device: sync_bn={cfg.sync_bn!r} dropped (SyncBatchNorm runs on '
                  'GPUs only); each process keeps its own BatchNorm statistics',
                  logger='current', level=logging.WARNING)
        cfg.sync_bn = None
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False)
    if not dist.is_initialized():
        dist.init_process_group(backend=dist_cfg['backend'])
