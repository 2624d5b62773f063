"""tools/benchmark_ood.py --quick: the closed-set scores and an RPL row train and are tested,
JSON and table, resumes; the JSON is left as it is when nothing is new and refused for other
data. Every RPL row's config trains through the tools in tests/models/test_rpl.py."""
import json
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from tool_testing import pretrained_settings

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run(*args):
    return subprocess.run([sys.executable, 'tools/benchmark_ood.py', *args], cwd=ROOT,
                          capture_output=True, text=True)


@pytest.mark.stack('onedl', why='every RPL config trains and is tested on both stacks in '
                                'tests/models/test_rpl.py')
def test_quick_benchmark_runs_scores_and_a_row_and_resumes(toyscenes_root, pretrained_backbone,
                                                           tmp_path):
    """A --quick run trains and tests the scores and an RPL row; a rerun or new root trains none."""
    args = ['--quick', '--rows', 'RPL+CoroCL', '--data-root', toyscenes_root,
            '--json', str(tmp_path / 'bench.json'), '--work-dir', str(tmp_path / 'work'),
            '--pretrained', pretrained_backbone]
    first = run(*args)
    assert first.returncode == 0, first.stderr[-3000:]
    with open(tmp_path / 'bench.json') as f:
        stored = f.read()
    results = json.loads(stored)
    assert results['settings']['pretrained'] == \
        pretrained_settings(pretrained_backbone)['pretrained']
    rows = [entry['row'] for entry in results['table']]
    assert rows == ['MSP', 'max logit', 'energy', 'RPL+CoroCL']
    for entry in results['table']:
        assert 0 <= entry['AUROC'] <= 100 and 0 <= entry['AP'] <= 100
        assert 0 <= entry['FPR95'] <= 100 and entry['seeds'] == 1
    # segmentation of RPL is the frozen closed-set one
    assert all(abs(e['mIoU_delta']) < 1e-6 for e in results['table'])
    assert results['miou_within_tolerance'] is True
    assert '| RPL+CoroCL | ' in first.stdout

    again = run(*args)
    assert again.returncode == 0 and 'training' not in again.stdout
    assert 'testing' not in again.stdout
    with open(tmp_path / 'bench.json') as f:  # header (date, command) included
        assert f.read() == stored

    other = shutil.copytree(toyscenes_root, tmp_path / 'other')  # same content, other root
    root = args.index('--data-root') + 1
    moved = run(*args[:root], str(other), *args[root + 1:])
    assert moved.returncode != 0 and "data.root: '" in moved.stderr
    assert 'training' not in moved.stdout
    with open(tmp_path / 'bench.json') as f:
        assert f.read() == stored
