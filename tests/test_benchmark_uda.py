"""tools/benchmark_uda.py --quick: rows, JSON, reruns skip."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run(*args):
    return subprocess.run([sys.executable, 'tools/benchmark_uda.py', *args], cwd=ROOT,
                          capture_output=True, text=True)


@pytest.mark.stack('upstream', why='every SePiCo config trains on both stacks in tests/sepico/')
def test_quick_benchmark_runs_rows_and_resumes(toyscenes_root, tmp_path):
    """A --quick run trains the warm-up, rows and AdaBN evaluations; a rerun repeats none."""
    # three rows keep it short; tests/sepico/test_sepico_train.py trains every config
    rows = ['target-supervised (room)', 'source-only', 'SePiCo DistCL']
    args = ['--quick', '--crop', '32', '--lr', '0.002', '--rows', *rows,
            '--data-root', toyscenes_root, '--json', str(tmp_path / 'bench.json'),
            '--work-dir', str(tmp_path / 'work'), '--init', 'scratch']
    first = run(*args)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    with open(tmp_path / 'bench.json') as f:
        results = json.load(f)
    assert results['settings'].pop('data')['root'] == toyscenes_root
    assert results['settings'] == {'warmup_iters': 2, 'iters': 2, 'crop': 32, 'lr': 0.002,
                                   'quick': True, 'teacher_momentum': 0.01,
                                   'contrast_start': 0.075, 'init': 'scratch'}
    assert [entry['row'] for entry in results['table']] == ['source-only warm-up', *rows]
    for entry in results['table']:
        assert 0 <= entry['student/mIoU'] <= 100 and 0 <= entry['teacher/mIoU'] <= 100
        assert 0 <= entry['AdaBN teacher/mIoU'] <= 100
        assert entry['seeds'] == entry['AdaBN seeds'] == 1
    assert sorted(k for k in results['runs'] if k.startswith('AdaBN|')) == sorted(
        f'AdaBN|{row}|0' for row in ['source-only warm-up', *rows])
    # the AdaBN evaluation used a checkpoint recalibrated on every target_train image
    work = tmp_path / 'work' / 'scratch'
    recalibrated = torch.load(work / 'source-only' / 'seed0' / 'adabn' /
                              'recalibrated_bn.pth', map_location='cpu', weights_only=False)
    target_train = osp.join(toyscenes_root, 'img_dir', 'target_train')
    assert recalibrated['meta']['recalibrated_bn']['images'] == len(os.listdir(target_train))
    assert results['table'][2]['step_time_s_ratio'] == 1.0
    assert '| SePiCo DistCL |' in first.stdout
    log = open(work / 'source-only-oracle' / 'seed0' / 'benchmark_train.log').read()
    assert 'target_train' in log  # the room row learns the target labels
    dumped, = glob.glob(str(work / 'sepico-dist' / 'seed0' / '*sepico-dist*.py'))
    dumped = Config.fromfile(dumped)
    assert dumped.optim_wrapper.optimizer.lr == 0.002  # every row's lr
    # every row starts from the warm-up's checkpoint; its projection head is new
    assert dumped.model.init_checkpoint == str(work / 'warm-up' / 'seed0' / 'iter_2.pth')
    assert dumped.model.segmentor.backbone.init_cfg is None  # --init scratch
    assert list(dumped.model.init_new_modules) == ['auxiliary_head']
    assert dumped.model.contrast_start_iter == 0  # 7.5% of 2 iterations: from the start

    again = run(*args)
    assert again.returncode == 0 and 'training' not in again.stdout
    assert 'AdaBN|' not in again.stdout  # evaluations are not repeated either
