"""tools/benchmark_contrast.py --quick: every row trains, results land in JSON, reruns skip."""
import json
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run(*args):
    return subprocess.run([sys.executable, 'tools/benchmark_contrast.py', *args], cwd=ROOT,
                          capture_output=True, text=True)


def test_quick_benchmark_runs_every_row_and_resumes(toyscenes_root, tmp_path):
    args = ['--quick', '--splits', 'full', '--data-root', toyscenes_root,
            '--json', str(tmp_path / 'bench.json'), '--work-dir', str(tmp_path / 'work')]
    first = run(*args)
    assert first.returncode == 0, first.stderr[-3000:]
    with open(tmp_path / 'bench.json') as f:
        results = json.load(f)
    assert results['settings'] == {'iters': 2, 'quick': True}
    rows = [entry['row'] for entry in results['table']]
    assert rows[0] == 'baseline' and len(rows) == 4
    for run_result in results['runs'].values():
        assert 0 <= run_result['mIoU'] <= 100 and run_result['step_time_s'] > 0
    baseline = results['table'][0]
    assert baseline['step_time_s_ratio'] == 1.0 and baseline['peak_rss_mib_ratio'] == 1.0
    assert '| full | baseline |' in first.stdout

    again = run(*args)
    assert again.returncode == 0 and 'training' not in again.stdout
    different = run(*args[1:])  # not --quick: other settings, same JSON
    assert different.returncode != 0 and "pass another --json" in different.stderr
