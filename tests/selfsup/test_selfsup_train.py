"""Pretraining through mmengine's Runner: resume, hooks, the queue check, two processes."""
import math
import os
import shutil
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.runner import Runner

from selfsup_testing import (DENSECL_CONFIG, PIXPRO_CONFIG, ROOT, TINY_DENSECL, TINY_PIXPRO,
                             cli_options, tiny_config)


@pytest.mark.parametrize('config,options', [(DENSECL_CONFIG, TINY_DENSECL),
                                            (PIXPRO_CONFIG, TINY_PIXPRO)],
                         ids=['densecl', 'pixpro'])
def test_resume_continues_with_the_same_queues_and_momentum_encoder(
        config, options, toyscenes_root, tmp_path):
    """Resume at iteration 2 gives the straight run's weights, queues and momentum encoder."""
    straight = Runner.from_cfg(tiny_config(config, options, toyscenes_root, tmp_path / 'a', 4))
    straight.train()
    # the run stopped after iteration 2: only its checkpoint is left
    (tmp_path / 'b').mkdir()
    shutil.copy(tmp_path / 'a' / 'iter_2.pth', tmp_path / 'b')
    resumed_cfg = tiny_config(config, options, toyscenes_root, tmp_path / 'b', 4)
    resumed_cfg.resume = True
    resumed_cfg.load_from = str(tmp_path / 'b' / 'iter_2.pth')
    resumed = Runner.from_cfg(resumed_cfg)
    resumed.train()

    expected, state = straight.model.state_dict(), resumed.model.state_dict()
    assert any(name.startswith('momentum_encoder.') for name in state)
    if config == DENSECL_CONFIG:
        assert int(state['global_queue.ptr']) == 8 % 8  # 4 pushes of 2 into 8 slots
    for name, value in expected.items():
        torch.testing.assert_close(state[name], value, msg=name)


def test_pixpro_momentum_follows_the_cosine_schedule(toyscenes_root, tmp_path):
    """The runner's hooks set PixPro's momentum on the cosine schedule at every iteration."""
    cfg = tiny_config(PIXPRO_CONFIG, TINY_PIXPRO, toyscenes_root, tmp_path, 3)
    runner = Runner.from_cfg(cfg)
    seen = []
    ema = runner.model.momentum_encoder
    update = ema.update_parameters
    ema.update_parameters = lambda model: (seen.append(ema.momentum), update(model))
    runner.train()
    # PixPro: decay = 1 - (1 - 0.99) (cos(pi k / K) + 1) / 2, momentum = 1 - decay
    assert seen == pytest.approx([0.01 * (math.cos(math.pi * k / 3) + 1) / 2 for k in range(3)])


def test_densecl_warmup_holds_the_dense_loss_at_zero(toyscenes_root, tmp_path):
    """The warm-up hook holds DenseCL's dense-loss weight at 0 for 2 iterations, then raises it."""
    cfg = tiny_config(DENSECL_CONFIG, TINY_DENSECL, toyscenes_root, tmp_path, 3)
    cfg.custom_hooks[1].warmup_iters = 2
    runner = Runner.from_cfg(cfg)
    lambdas = []
    loss = runner.model.loss
    runner.model.loss = lambda *args: (lambdas.append(runner.model.loss_lambda), loss(*args))[1]
    runner.train()
    assert lambdas == [0., 0., 0.5]


def test_a_queue_not_a_multiple_of_the_global_batch_fails_before_training(toyscenes_root,
                                                                          tmp_path):
    """Runner.train refuses a queue not a multiple of the global batch before iteration 1."""
    cfg = tiny_config(DENSECL_CONFIG, {**TINY_DENSECL, 'model.queue_length': 9},
                      toyscenes_root, tmp_path, 2)
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=r'queue length 9 .* global batch 2 \(batch_size 2 x 1'):
        runner.train()
    assert runner.iter == 0


# Runs tools/train.py after making Runner.train save this rank's queues and momentum encoder.
DRIVER = '''import runpy
import torch
from mmengine.runner import Runner

train = Runner.train


def train_and_dump(runner):
    model = train(runner)
    state = {{name: value for name, value in model.module.state_dict().items()
             if 'queue' in name or name.startswith('momentum_encoder.module.neck')}}
    torch.save(state, f'{{runner.work_dir}}/rank{{runner.rank}}.pth')
    return model


Runner.train = train_and_dump
runpy.run_path({train!r}, run_name='__main__')
'''


def test_two_processes_keep_identical_queues(toyscenes_root, tmp_path):
    """Two torchrun ranks keep identical DenseCL queues and momentum necks over 3 iterations."""
    driver = tmp_path / 'train.py'
    driver.write_text(DRIVER.format(train=os.path.join(ROOT, 'tools', 'train.py')))
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    options = cli_options({**TINY_DENSECL, 'train_dataloader.dataset.data_root': toyscenes_root,
                           'train_cfg.max_iters': 3, 'param_scheduler.0.end': 3})
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([ROOT, os.environ.get('PYTHONPATH', '')]))
    result = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         f'--master_port={port}', str(driver), DENSECL_CONFIG, '--launcher', 'pytorch',
         '--work-dir', str(tmp_path / 'work'), '--cfg-options', *options],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    ranks = [torch.load(tmp_path / 'work' / f'rank{rank}.pth') for rank in (0, 1)]
    # 3 iterations x global batch 4 = 12 keys into 8 slots
    assert int(ranks[0]['global_queue.ptr']) == 12 % 8
    assert ranks[0].keys() == ranks[1].keys()
    for name, value in ranks[0].items():
        torch.testing.assert_close(ranks[1][name], value, rtol=0, atol=0, msg=name)
