"""tools/pretrain_backbone.py: a backbone mmseg loads; reproducible, resumable, no overwrite."""
import json
import os
import os.path as osp
import subprocess

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from tool_testing import ROOT, load_tool

TINY = ['--iters', '4', '--batch-size', '4', '--size', '32', '--num-val', '8',
        '--checkpoint-interval', '2', '--warmup-iters', '1', '--device', 'cpu']


def run(root, *extra, tool=None):
    """Run the tiny setting into ``root``; return (exit code, output path)."""
    out = osp.join(root, 'r18.pth')
    tool = tool or load_tool('pretrain_backbone')
    code = tool.main(['--out', out, '--work-dir', osp.join(root, 'work'), *TINY, *extra])
    return code, out


def weights(path):
    return torch.load(path)['state_dict']


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    code, out = run(str(tmp_path_factory.mktemp('uninterrupted')))
    assert code == 0
    return out


def test_checkpoint_loads_into_resnet_v1c_with_init_cfg(uninterrupted):
    """A backbone the tool trained loads into ResNetV1c through init_cfg, every key included."""
    state = weights(uninterrupted)
    init_default_scope('mmseg')
    backbone = MODELS.build(dict(
        type='ResNetV1c', depth=18, out_indices=(3, ), dilations=(1, 1, 1, 2),
        strides=(1, 2, 2, 1), contract_dilation=True,
        init_cfg=dict(type='Pretrained', checkpoint=uninterrupted, prefix='backbone.')))
    backbone.init_weights()
    loaded = backbone.state_dict()
    assert {f'backbone.{key}' for key in loaded} == set(state)  # deep stem included
    assert any(key.startswith('backbone.stem.') for key in state)
    for key, value in loaded.items():
        assert torch.equal(value, state[f'backbone.{key}']), key
    backbone.load_state_dict({key[len('backbone.'):]: v for key, v in state.items()}, strict=True)


def test_depth_50_classifier_holds_a_resnet50_v1c_backbone():
    init_default_scope('mmseg')
    classifier = load_tool('pretrain_backbone').Classifier(50, num_classes=40)
    assert classifier(torch.zeros(2, 3, 32, 32)).shape == (2, 40)
    backbone = MODELS.build(dict(type='ResNetV1c', depth=50))
    backbone.load_state_dict(classifier.backbone.state_dict(), strict=True)


def test_json_and_log_report_the_held_out_accuracy(uninterrupted):
    """A finished run reports one held-out accuracy in JSON, log and checkpoint."""
    with open(osp.splitext(uninterrupted)[0] + '.json') as f:
        record = json.load(f)
    assert record['settings']['iters'] == 4 and record['settings']['seed'] == 0
    assert 0 <= record['top1_accuracy'] <= 100
    assert record['wall_time_s'] >= 0 and 'torch' in record['versions']
    assert torch.load(uninterrupted)['meta']['top1'] == record['top1_accuracy']
    work = osp.join(osp.dirname(uninterrupted), 'work')
    with open(osp.join(work, 'pretrain_backbone.log')) as f:
        assert f'val top-1 accuracy: {record["top1_accuracy"]:.2f}%' in f.read()
    assert not osp.exists(osp.join(work, 'last.pth'))  # resume state removed when done


def test_same_seed_reproduces_other_seed_differs(uninterrupted, tmp_path):
    """Two runs of one seed give identical weights; another seed gives other weights."""
    assert run(str(tmp_path / 'again'))[0] == 0
    assert_same_weights(weights(uninterrupted), weights(tmp_path / 'again' / 'r18.pth'))
    assert run(str(tmp_path / 'seed1'), '--seed', '1')[0] == 0
    other = weights(tmp_path / 'seed1' / 'r18.pth')
    assert not torch.equal(other['backbone.stem.0.weight'],
                           weights(uninterrupted)['backbone.stem.0.weight'])


def test_interrupted_run_resumes_to_the_uninterrupted_result(uninterrupted, tmp_path, capsys):
    """A run killed after its iteration-2 checkpoint resumes to the uninterrupted weights."""
    tool = load_tool('pretrain_backbone')
    step, calls = tool.train_step, []

    def interrupted_step(*args):
        calls.append(1)
        if len(calls) == 4:  # after the checkpoint of iteration 2
            raise KeyboardInterrupt
        return step(*args)

    tool.train_step = interrupted_step
    with pytest.raises(KeyboardInterrupt):
        run(str(tmp_path), tool=tool)
    assert osp.isfile(tmp_path / 'work' / 'last.pth') and not osp.exists(tmp_path / 'r18.pth')
    tool.train_step = step
    assert run(str(tmp_path), tool=tool)[0] == 0
    assert 'resumed from' in capsys.readouterr().out
    assert_same_weights(weights(uninterrupted), weights(tmp_path / 'r18.pth'))


def test_resume_state_of_other_settings_is_refused(tmp_path, capsys):
    """An interrupted run's resume state is refused when rerun with another learning rate."""
    tool = load_tool('pretrain_backbone')
    step = tool.train_step

    def interrupted_step(*args):
        if osp.exists(tmp_path / 'work' / 'last.pth'):
            raise KeyboardInterrupt
        return step(*args)

    tool.train_step = interrupted_step
    with pytest.raises(KeyboardInterrupt):
        run(str(tmp_path), tool=tool)
    assert run(str(tmp_path), '--lr', '0.05')[0] == 1
    assert 'other settings' in capsys.readouterr().err


def test_existing_output_is_refused_without_force(uninterrupted, tmp_path, capsys):
    """A trained output survives a rerun without --force and is replaced by one with it."""
    code, out = run(str(tmp_path), '--iters', '1')
    assert code == 0
    before = weights(out)
    assert run(str(tmp_path), '--seed', '3', '--iters', '1')[0] == 1
    assert '--force' in capsys.readouterr().err
    assert_same_weights(before, weights(out))
    assert run(str(tmp_path), '--seed', '3', '--iters', '1', '--force')[0] == 0
    assert not torch.equal(before['backbone.stem.0.weight'], weights(out)['backbone.stem.0.weight'])


def test_learning_rate_warms_up_then_decays_to_zero():
    tool = load_tool('pretrain_backbone')
    args = tool.parse_args(['--iters', '100', '--warmup-iters', '10', '--lr', '0.2'])
    rates = [tool.learning_rate(args, i) for i in range(100)]
    assert rates[0] == pytest.approx(0.02) and rates[9] == pytest.approx(0.2)
    assert all(a >= b for a, b in zip(rates[9:], rates[10:]))
    assert rates[-1] < 1e-3


def test_makefile_pretrained_target_runs_the_tool_after_install(tmp_path):
    venv = tmp_path / 'venv'
    result = subprocess.run(['make', '-n', '-C', ROOT, 'pretrained', f'VENV={venv}',
                             f'PRETRAINED={tmp_path / "r18.pth"}'],
                            capture_output=True, text=True, env=dict(os.environ, MAKEFLAGS=''))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    tool = next(i for i, line in enumerate(lines) if 'tools/pretrain_backbone.py' in line)
    assert f'--out {tmp_path / "r18.pth"}' in lines[tool]
    assert any('pip install' in line for line in lines[:tool])  # the venv comes first
