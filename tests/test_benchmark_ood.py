"""tools/benchmark_ood.py --quick: every row trains and is tested, JSON and table, resumes."""
import json
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run(*args):
    return subprocess.run([sys.executable, 'tools/benchmark_ood.py', *args], cwd=ROOT,
                          capture_output=True, text=True)


def test_quick_benchmark_runs_every_row_and_resumes(toyscenes_root, tmp_path):
    args = ['--quick', '--data-root', toyscenes_root, '--json', str(tmp_path / 'bench.json'),
            '--work-dir', str(tmp_path / 'work')]
    first = run(*args)
    assert first.returncode == 0, first.stderr[-3000:]
    with open(tmp_path / 'bench.json') as f:
        results = json.load(f)
    rows = [entry['row'] for entry in results['table']]
    assert rows == ['MSP', 'max logit', 'energy', 'RPL', 'RPL+CoroCL (all pixels)',
                    'RPL+CoroCL (512 sampled, as released)']
    for entry in results['table']:
        assert 0 <= entry['AUROC'] <= 100 and 0 <= entry['AP'] <= 100
        assert 0 <= entry['FPR95'] <= 100 and entry['seeds'] == 1
    # segmentation of RPL is the frozen closed-set one
    assert all(abs(e['mIoU_delta']) < 1e-6 for e in results['table'])
    assert results['miou_within_tolerance'] is True
    assert '| RPL | ' in first.stdout

    again = run(*args)
    assert again.returncode == 0 and 'training' not in again.stdout
    assert 'testing' not in again.stdout
