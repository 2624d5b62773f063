"""tools/dist_train.sh trains with 2 CPU processes: ranks end with identical weights and banks."""
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys

import pytest
import torch

from test_train import CONFIG, ROOT, TINY, cli_options, data_options

# Runs the repository's tools/train.py after making Runner.train save this
# rank's parameters and memory banks, so that the test can compare the ranks
# (BN running statistics are per rank without SyncBN, so they are left out).
DRIVER = '''import runpy
import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

train = Runner.train


def train_and_dump(runner):
    model = train(runner)
    assert is_model_wrapper(model), 'not a distributed run'
    shared = dict(model.module.named_parameters())
    shared.update((name, buffer) for name, buffer in model.module.named_buffers()
                  if '_bank.' in name)
    torch.save({{name: value.detach().cpu() for name, value in shared.items()}},
               f'{{runner.work_dir}}/rank{{runner.rank}}.pth')
    return model


Runner.train = train_and_dump
runpy.run_path({train!r}, run_name='__main__')
'''


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


CONTRAST_CONFIG = osp.join(
    ROOT, 'configs/contrast/fcn_r18-d16_contrastiveseg-bank_1k_toyscenes-128x128.py')
# TINY with the FCN auxiliary head first in the list and a narrow ContrastHead.
CONTRAST_TINY = {
    **{key.replace('auxiliary_head.', 'auxiliary_head.0.'): value for key, value in TINY.items()},
    'model.auxiliary_head.1.in_channels': '[16,32,64]', 'model.auxiliary_head.1.channels': 16,
}


@pytest.mark.parametrize('config,tiny', [(CONFIG, TINY), (CONTRAST_CONFIG, CONTRAST_TINY)],
                         ids=['quickstart', 'contrastiveseg-bank'])
def test_two_processes_train_and_hold_identical_weights(config, tiny, toyscenes_root,
                                                        tmp_path):
    """Two gloo ranks of tools/dist_train.sh end with identical weights and banks, as saved."""
    tools = tmp_path / 'tools'
    tools.mkdir()
    shutil.copy(osp.join(ROOT, 'tools', 'dist_train.sh'), tools)
    (tools / 'train.py').write_text(
        DRIVER.format(train=osp.join(ROOT, 'tools', 'train.py')))
    work_dir = tmp_path / 'work'
    options = cli_options({
        **tiny, **data_options(toyscenes_root), 'train_cfg.max_iters': 3,
        'train_cfg.val_interval': 100, 'default_hooks.checkpoint.interval': 3
    })
    env = dict(os.environ, PORT=str(free_port()), PYTHON=sys.executable,
               OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join(
                   [ROOT, os.environ.get('PYTHONPATH', '')]))
    result = subprocess.run(
        ['bash', str(tools / 'dist_train.sh'), config, '2', '--work-dir',
         str(work_dir), '--cfg-options', *options],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'Iter(train) [3/3]' in log
    ranks = [torch.load(work_dir / f'rank{rank}.pth') for rank in (0, 1)]
    assert ranks[0].keys() == ranks[1].keys() and ranks[0]
    banks = [name for name in ranks[0] if name.endswith('_bank.filled')]
    assert bool(banks) == (config == CONTRAST_CONFIG)
    assert all(ranks[0][name].sum() > 0 for name in banks)
    for name, param in ranks[0].items():
        torch.testing.assert_close(ranks[1][name], param, rtol=0, atol=0,
                                   msg=name)
    saved = torch.load(work_dir / 'iter_3.pth', weights_only=False)
    assert saved['meta']['iter'] == 3
    for name, param in ranks[0].items():
        torch.testing.assert_close(saved['state_dict'][name], param)
