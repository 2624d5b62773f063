"""tools/benchmark_schedule.py: the schedule rule on hand-made curves; --quick trains every
curve, draws them and resumes; another backbone file retrains only the pretrained curves."""
import json
import shutil
import subprocess
import sys

import pytest
import torch

from tool_testing import ROOT, load_tool


def run(*args):
    return subprocess.run([sys.executable, 'tools/benchmark_schedule.py', *args], cwd=ROOT,
                          capture_output=True, text=True)


def test_schedule_is_the_first_iteration_near_the_plateau_with_room():
    choose = load_tool('benchmark_schedule').choose_schedule
    iters = [100, 200, 300, 400]
    full = (iters, [40.0, 70.0, 79.0, 80.0])  # plateau 80: 300 is within 2 points
    assert choose(full, (iters, [30.0, 50.0, 62.0, 66.0]), 2.0, 15.0)[0] == 300  # room 17
    assert choose(full, (iters, [30.0, 50.0, 66.0, 64.0]), 2.0, 15.0)[0] == 400  # 13, then 16
    step, reason = choose(full, (iters, [30.0, 60.0, 70.0, 70.0]), 2.0, 15.0)
    assert step is None and 'plateau 80.0' in reason


@pytest.mark.stack('onedl', why='its supervised config trains on both stacks in tests/semi/')
def test_quick_curves_are_stored_drawn_and_resumed(toyscenes_root, pretrained_backbone,
                                                   tmp_path):
    """A --quick run trains and draws four curves; a new backbone retrains the pretrained ones."""
    backbone = str(tmp_path / 'backbone.pth')
    shutil.copy(pretrained_backbone, backbone)
    args = ['--quick', '--split', '1/16', '--data-root', toyscenes_root, '--pretrained', backbone,
            '--json', str(tmp_path / 's.json'), '--png', str(tmp_path / 's.png'),
            '--work-dir', str(tmp_path / 'work')]
    first = run(*args)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    with open(tmp_path / 's.json') as f:
        results = json.load(f)
    assert sorted(results['runs']) == ['pretrained|1/16|0', 'pretrained|full|0',
                                       'scratch|1/16|0', 'scratch|full|0']
    for run_result in results['runs'].values():
        assert run_result['iters'] == [2, 4]  # --quick: 4 iterations, val every 2
        assert all(0 <= v <= 100 for v in run_result['student/mIoU'] + run_result['teacher/mIoU'])
    for init in ('scratch', 'pretrained'):
        assert results['summary'][init]['full']['seeds'] == 1
        assert 'schedule' in results['summary'][init]
    with open(tmp_path / 's.png', 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'

    again = run(*args)
    assert again.returncode == 0 and 'training' not in again.stdout
    state = torch.load(backbone, map_location='cpu')
    state['state_dict']['backbone.stem.0.weight'] += 1
    torch.save(state, backbone)
    other = run(*args)
    assert other.returncode == 0, other.stderr[-3000:]
    assert 'training pretrained|full|0' in other.stdout
    assert 'training scratch' not in other.stdout
