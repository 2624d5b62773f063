"""tools/benchmark_semi.py --quick: room, rows, JSON, reruns skip."""
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from tool_testing import pretrained_settings

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run(*args):
    return subprocess.run([sys.executable, 'tools/benchmark_semi.py', *args], cwd=ROOT,
                          capture_output=True, text=True)


@pytest.mark.stack('onedl', why='every semi-supervised config trains on both stacks in tests/semi/')
def test_quick_benchmark_runs_room_and_rows_and_resumes(toyscenes_root, pretrained_backbone,
                                                        tmp_path):
    """A --quick run trains the room and three rows at the given lr; a rerun trains nothing."""
    # three rows keep it short; tests/semi/test_semi_train.py trains every config
    args = ['--quick', '--crop', '32', '--lr', '0.002',
            '--room-splits', 'full', '1/16', '--split', '1/16',
            '--rows', 'supervised-only', 'weak-to-strong', 'DSSN',
            '--data-root', toyscenes_root, '--json', str(tmp_path / 'bench.json'),
            '--work-dir', str(tmp_path / 'work'), '--pretrained', pretrained_backbone]
    first = run(*args)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    with open(tmp_path / 'bench.json') as f:
        results = json.load(f)
    assert results['settings'].pop('data')['root'] == toyscenes_root
    assert results['settings'] == {'iters': 2, 'crop': 32, 'lr': 0.002, 'quick': True,
                                   **pretrained_settings(pretrained_backbone)}
    dumped, = glob.glob(str(tmp_path / 'work' / 'pretrained' / '1-16' / '*dssn*' / 'seed0' /
                            '*dssn*.py'))
    dumped = Config.fromfile(dumped)
    assert dumped.optim_wrapper.optimizer.lr == 0.002  # every row's lr
    assert dumped.model.segmentor.backbone.init_cfg.checkpoint == pretrained_backbone
    assert results['split'] == '1/16'
    rows = [(entry['split'], entry['row']) for entry in results['table']]
    assert rows[:2] == [('room', 'supervised-only @ full'), ('room', 'supervised-only @ 1/16')]
    assert [row for split, row in rows[2:]] == ['supervised-only', 'weak-to-strong', 'DSSN']
    for entry in results['table']:
        assert 0 <= entry['student/mIoU'] <= 100 and 0 <= entry['teacher/mIoU'] <= 100
    assert results['table'][2]['step_time_s_ratio'] == 1.0
    assert '| 1/16 | DSSN |' in first.stdout

    again = run(*args)
    assert again.returncode == 0 and 'training' not in again.stdout
