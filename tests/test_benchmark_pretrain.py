"""tools/benchmark_pretrain.py --quick: pretrain, extract, probe and fine-tune run; reruns skip."""
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
    return subprocess.run([sys.executable, 'tools/benchmark_pretrain.py', *args], cwd=ROOT,
                          capture_output=True, text=True)


@pytest.mark.stack('upstream', why='the pretraining configs train on both stacks in '
                                   'tests/selfsup/, FCN segmenters in tests/test_train.py')
def test_quick_benchmark_runs_and_resumes(toyscenes_root, pretrained_backbone, tmp_path):
    """A --quick run pretrains, extracts, probes and fine-tunes three rows; a rerun runs none."""
    # random init, the supervised backbone and the row that runs both PixPro losses keep the
    # test short
    rows = ['random init', 'supervised (procedural ImageNet)', 'PixPro+PixContrast']
    args = ['--quick', '--rows', *rows,
            '--data-root', toyscenes_root, '--json', str(tmp_path / 'bench.json'),
            '--work-dir', str(tmp_path / 'work'), '--pretrained', pretrained_backbone]
    first = run(*args)
    assert first.returncode == 0, (first.stdout + first.stderr)[-3000:]
    with open(tmp_path / 'bench.json') as f:
        results = json.load(f)
    assert results['settings'].pop('data')['root'] == toyscenes_root
    assert results['settings'] == {'iters': 2, 'probe_iters': 2, 'finetune_iters': 2,
                                   'quick': True, **pretrained_settings(pretrained_backbone)}
    assert [e['row'] for e in results['table']] == rows
    for key, record in results['runs'].items():
        assert 0 <= record['probe_mIoU'] <= 100 and 0 <= record['finetune_mIoU'] <= 100
        assert 0 <= record['alignment'] <= 4
        assert ('pretrain_step_time_s' in record) == key.startswith('PixPro')
    probe, = glob.glob(str(tmp_path / 'work' / 'pretrained' / 'supervised-(procedural-ImageNet)'
                           / 'seed0' / 'probe' / '*.py'))
    assert Config.fromfile(probe).model.backbone.init_cfg.checkpoint == pretrained_backbone
    assert 'mmpretrain' in results
    assert '| PixPro+PixContrast |' in first.stdout

    again = run(*args)
    assert again.returncode == 0 and 'running' not in again.stdout
