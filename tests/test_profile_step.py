"""tools/profile_step.py: the innermost-scope grouping on hand-made events, tiny profiled
runs of a plain and a semi-supervised config, and its input errors."""
import json
import os.path as osp
import sys

import pytest

from teacher_student_testing import ROOT, cli
from tool_testing import load_tool

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), 'semi'))
from semi_testing import CONFIGS, tiny_options  # noqa: E402

TOOL = osp.join(ROOT, 'tools', 'profile_step.py')
PLAIN = osp.join(ROOT, 'configs/contrast/deeplabv3plus_r18-d16_1k_toyscenes-128x128.py')
COMMON_GROUPS = ['backbone', 'decode head', 'aux/contrast head', 'data loading',
                 'optimizer step', 'other']


@pytest.fixture(scope='module')
def profile_step():
    return load_tool('profile_step')


def scope(tool, group, start, end, thread=1):
    return tool.Event(tool.SCOPE_PREFIX + group, start, end, thread)


def test_time_goes_to_the_innermost_group(profile_step):
    tool = profile_step
    backward = tool.BACKWARD_PREFIX
    events = [
        scope(tool, tool.STEP, 0, 100),
        scope(tool, tool.DATA, 0, 10),
        scope(tool, tool.BACKBONE, 10, 40),
        tool.Event('aten::conv2d', 12, 20, 1, sequence_nr=1),
        scope(tool, tool.AUX, 40, 60),
        tool.Event('aten::mm', 41, 45, 1, sequence_nr=2),
        scope(tool, tool.MEMORY, 50, 55),          # a memory update inside the head
        tool.Event('aten::add', 86, 87, 1, sequence_nr=3),   # in the step, in no group
        tool.Event('aten::mul', 1, 2, 7, sequence_nr=4),     # a thread without scopes
        # backward functions, matched to their forward op's group
        tool.Event(backward + 'MmBackward0', 60, 65, 1, sequence_nr=2, fwd_thread=1),
        tool.Event(backward + 'ConvolutionBackward0', 70, 80, 1, sequence_nr=1, fwd_thread=1),
        tool.Event(backward + 'AccumulateGrad', 80, 85, 1),             # no forward op
        tool.Event(backward + 'AddBackward0', 87, 89, 1, sequence_nr=3, fwd_thread=1),
        tool.Event(backward + 'MulBackward0', 89, 90, 1, sequence_nr=4, fwd_thread=7),
        scope(tool, tool.OPTIMIZER, 90, 98),
    ]
    totals = tool.exclusive_times(tool.group_spans(events))
    assert totals == {'data loading': 10, 'backbone': 30 + 10, 'aux/contrast head': 20 - 5 + 5,
                      'memory bank': 5, 'optimizer step': 8, 'other': 17}
    assert sum(totals.values()) == 100
    step_ms, groups = tool.summarize(tool.group_spans(events), steps=1)
    assert step_ms == 0.1 and groups['other']['percent'] == pytest.approx(17)


def test_summary_is_per_step_and_sums_to_100(profile_step):
    tool = profile_step
    spans = [tool.Span(tool.STEP, 0, 3000), tool.Span(tool.BACKBONE, 0, 1000),
             tool.Span(tool.STEP, 5000, 6000), tool.Span(tool.TEACHER, 5000, 5500)]
    step_ms, groups = tool.summarize(spans, steps=2)
    assert step_ms == 2.0
    assert list(groups) == ['backbone', 'teacher', 'other']  # GROUPS order, present ones
    assert groups['backbone'] == {'ms': 0.5, 'percent': 25.0}
    assert groups['other'] == {'ms': 1.25, 'percent': 62.5}
    assert sum(g['percent'] for g in groups.values()) == pytest.approx(100)
    table = tool.format_table(step_ms, groups)
    assert table.splitlines()[0].split() == ['group', 'ms/step', '%', 'of', 'step']
    with pytest.raises(ValueError, match='no profiled step'):
        tool.summarize([tool.Span(tool.BACKBONE, 0, 1)], steps=1)


def plain_options(data_root):
    return {
        'model.backbone.stem_channels': 16, 'model.backbone.base_channels': 8,
        'model.backbone.init_cfg': None,  # narrow: no pretrained weights fit
        'model.decode_head.in_channels': 64, 'model.decode_head.channels': 16,
        'model.decode_head.c1_in_channels': 8, 'model.decode_head.c1_channels': 4,
        'model.auxiliary_head.in_channels': 32, 'model.auxiliary_head.channels': 8,
        'model.data_preprocessor.size': '(32,32)',
        'train_dataloader.dataset.pipeline.4.crop_size': '(32,32)',
        'train_dataloader.dataset.data_root': data_root,
        'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
    }


def profile(tool, config, options, tmp_path, capsys):
    out = tmp_path / 'profile.json'
    tool.main([config, '--warmup', '1', '--steps', '1', '--json', str(out),
               '--cfg-options', *cli(options)])
    assert 'ms/step' in capsys.readouterr().out
    return json.loads(out.read_text())


@pytest.mark.parametrize('config, groups', [
    (PLAIN, COMMON_GROUPS),
    (CONFIGS['unimatch'], COMMON_GROUPS[:3] + ['teacher', 'pseudo-labels'] + COMMON_GROUPS[3:]),
], ids=['plain', 'semi'])
def test_tiny_profile_has_the_expected_groups(profile_step, toyscenes_root, tmp_path, capsys,
                                              config, groups):
    """Profiled training steps of a plain and a semi config fill exactly the expected groups."""
    options = plain_options(toyscenes_root) if config == PLAIN else tiny_options(
        config, toyscenes_root)
    result = profile(profile_step, config, options, tmp_path, capsys)
    assert result['steps'] == 1 and result['step_ms'] > 0
    assert list(result['groups']) == groups
    assert all(g['ms'] >= 0 for g in result['groups'].values())
    assert sum(g['percent'] for g in result['groups'].values()) == pytest.approx(100)


@pytest.mark.parametrize('args, message', [
    (['missing_config.py'], 'does not exist'),
    ([PLAIN, '--steps', '0'], '--steps must be at least 1'),
    ([PLAIN, '--warmup', '-1'], '--warmup must be at least 0'),
    ([PLAIN, '--json', PLAIN], 'also an input'),
])
def test_bad_input_fails_before_training(profile_step, capsys, args, message):
    """The profiler exits on bad arguments before it builds a runner or trains a step."""
    with pytest.raises(SystemExit):
        profile_step.main(args)
    assert message in capsys.readouterr().err
