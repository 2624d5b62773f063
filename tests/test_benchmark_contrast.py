"""tools/benchmark_contrast.py --quick: every row trains, results land in JSON, reruns skip."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from tool_testing import pretrained_settings

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
BASELINE_CONFIG = 'deeplabv3plus_r18-d16_1k_toyscenes-128x128'  # the baseline config's name


def run(*args):
    return subprocess.run([sys.executable, 'tools/benchmark_contrast.py', *args], cwd=ROOT,
                          capture_output=True, text=True)


@pytest.mark.stack('upstream', why='the contrast heads train on both stacks in '
                                   'tests/models/test_contrast_head.py')
def test_quick_benchmark_runs_every_row_and_resumes(toyscenes_root, pretrained_backbone,
                                                    tmp_path):
    """All five --quick rows train into the JSON; a rerun skips them, other settings fail."""
    args = ['--quick', '--splits', 'full', '--data-root', toyscenes_root,
            '--json', str(tmp_path / 'bench.json'), '--work-dir', str(tmp_path / 'work'),
            '--pretrained', pretrained_backbone]
    first = run(*args)
    assert first.returncode == 0, first.stderr[-3000:]
    with open(tmp_path / 'bench.json') as f:
        results = json.load(f)
    assert results['settings'].pop('data')['root'] == toyscenes_root
    assert results['settings'] == {'iters': 2, 'quick': True,
                                   **pretrained_settings(pretrained_backbone)}
    dumped = Config.fromfile(osp.join(tmp_path, 'work', 'pretrained', 'full', BASELINE_CONFIG,
                                      'seed0', f'{BASELINE_CONFIG}.py'))
    assert dumped.model.backbone.init_cfg.checkpoint == pretrained_backbone
    rows = [entry['row'] for entry in results['table']]
    assert rows[0] == 'baseline' and len(rows) == 5
    for run_result in results['runs'].values():
        assert 0 <= run_result['mIoU'] <= 100 and run_result['step_time_s'] > 0
    baseline = results['table'][0]
    assert baseline['step_time_s_ratio'] == 1.0 and baseline['peak_rss_mib_ratio'] == 1.0
    assert '| full | baseline |' in first.stdout

    again = run(*args)
    assert again.returncode == 0 and 'training' not in again.stdout
    different = run(*args[1:])  # not --quick: other settings, same JSON
    assert different.returncode != 0 and "pass another --json" in different.stderr
    scratch = run(*args, '--init', 'scratch')  # runs from another start: refused too
    assert scratch.returncode != 0 and "init: 'pretrained' -> 'scratch'" in scratch.stderr


# What each study variant must change in the built ContrastHead, written out by hand.
STUDY_EXPECTED = {
    'SupCon, loss weight 1.0': lambda head: head.loss_decode.loss_weight == 1.0,
    'SupCon, temperature 0.3': lambda head: head.loss_decode.temperature == 0.3,
    'SupCon, 256-d embedding': lambda head: head.projection[-1].out_channels == 256,
    'SupCon, starts at half the schedule': lambda head: head.start_iter == 100,
}


def test_study_variants_change_the_contrast_head():
    import densecl  # noqa: F401  (registers ContrastHead)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import benchmark_contrast
    init_default_scope('mmseg')
    for name, (row, scale, extra) in benchmark_contrast.STUDY.items():
        cfg = Config.fromfile(osp.join(ROOT, benchmark_contrast.CONFIGS,
                                       benchmark_contrast.ROWS[row]))
        cfg.merge_from_dict(extra(200))  # what tools/train.py does with --cfg-options
        model = MODELS.build(cfg.model)
        heads = [h for h in model.auxiliary_head if type(h).__name__ == 'ContrastHead'] \
            if isinstance(model.auxiliary_head, torch.nn.ModuleList) else []
        if name in STUDY_EXPECTED:
            assert len(heads) == 1 and STUDY_EXPECTED[name](heads[0]), name
        else:  # the baselines and the longer schedules change no head
            assert scale in (1, 5) and not extra(200), name
