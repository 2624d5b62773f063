"""tools/analyze_dense_features.py: argument checks, supported configs, averages."""
import json
import os.path as osp

import numpy as np
import pytest

from selfsup_testing import DENSECL_CONFIG, ROOT, TINY_DENSECL, cli_options
from tool_testing import load_tool

QUICKSTART = osp.join(ROOT, 'configs/quickstart/fcn_r18-d16_1k_toyscenes-128x128.py')


@pytest.fixture(scope='module')
def tool():
    return load_tool('analyze_dense_features')


@pytest.mark.parametrize('args, message', [
    (['--batches', '-3'], "argument --batches: must be an integer >= 1, got '-3'"),
    (['--batches', '0'], "argument --batches: must be an integer >= 1, got '0'"),
    (['--batches', 'two'], "argument --batches: must be an integer >= 1, got 'two'"),
    (['--seed', '-1'], "argument --seed: must be an integer in [0, 4294967295], got '-1'"),
    (['--seed', str(2**32)], 'argument --seed: must be an integer in [0, 4294967295]'),
])
def test_invalid_arguments_are_argparse_errors(tool, capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        tool.parse_args([DENSECL_CONFIG, *args])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_segmentation_config_is_refused_naming_the_models_accepted(tool, capsys, tmp_path):
    result = tmp_path / 'metrics.json'
    assert tool.main([QUICKSTART, '--batches', '1', '--json', str(result)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f'error: {QUICKSTART}: its model is EncoderDecoder; ')
    assert '(DenseCL, PixPro: the configs in configs/densecl and configs/pixpro)' in err
    assert not result.exists()


def run(tool, data_root, tmp_path, name, *args):
    """main() on the tiny DenseCL config; returns its JSON result.

    numpy is seeded first: without the seeded sampler, the views' crops come from
    its global state.
    """
    np.random.seed(0)
    out = tmp_path / f'{name}.json'
    options = cli_options(TINY_DENSECL)
    assert tool.main([DENSECL_CONFIG, '--json', str(out), *args, '--cfg-options',
                      f'train_dataloader.dataset.data_root={data_root}', *options]) == 0
    return json.loads(out.read_text())


def test_a_short_finite_dataloader_is_averaged_over_the_batches_it_gave(
        tool, capsys, toyscenes_root, tmp_path, toyscenes_counts):
    """A finite sampler over the one unlabeled image gives one batch: asking for 5 must
    give the average of that one batch (the result of --batches 1), not a fifth of it."""
    assert toyscenes_counts['unlabeled'] == 1
    finite = 'train_dataloader.sampler.type=DefaultSampler'
    one = run(tool, toyscenes_root, tmp_path, 'one', '--batches', '1', '--cfg-options', finite)
    five = run(tool, toyscenes_root, tmp_path, 'five', '--batches', '5', '--cfg-options', finite)
    assert 'note: the data gave 1 of the 5 batches asked for' in capsys.readouterr().out
    assert five['batches'] == one['batches'] == 1
    assert five['alignment'] == pytest.approx(one['alignment'])
    assert five['uniformity'] == pytest.approx(one['uniformity'])
    assert 0 < one['alignment'] <= 4 and -4 <= one['uniformity'] < 0
