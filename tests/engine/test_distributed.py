"""setup_cpu_distributed: gloo, no device ids, and no SyncBN on a machine without CUDA."""
import pytest
import torch
from mmengine.config import Config

from densecl.engine import distributed, setup_cpu_distributed


@pytest.fixture
def no_cuda(monkeypatch):
    started = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(distributed.dist, 'is_initialized', lambda: False)
    monkeypatch.setattr(distributed.dist, 'init_process_group',
                        lambda backend: started.append(backend))
    return started


def test_cpu_run_gets_gloo_no_device_ids_and_drops_sync_bn(no_cuda):
    cfg = Config(dict(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='nccl')),
                      sync_bn='torch'))
    setup_cpu_distributed(cfg)
    assert no_cuda == ['gloo'] and cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.sync_bn is None  # SyncBatchNorm would refuse CPU modules


def test_single_process_keeps_the_config(no_cuda):
    cfg = Config(dict(launcher='none', env_cfg=dict(), sync_bn='torch'))
    setup_cpu_distributed(cfg)
    assert no_cuda == [] and cfg.sync_bn == 'torch' and 'model_wrapper_cfg' not in cfg
