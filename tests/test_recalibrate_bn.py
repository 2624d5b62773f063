"""tools/recalibrate_bn.py on a teacher-student and an RPL checkpoint, its bad-input errors
and the outputs it refuses."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from tool_testing import ROOT, load_tool

CONFIG = osp.join(ROOT, 'configs/sepico/'
                  'deeplabv3plus_r18-d16_self-training_1k_toyscenes-source2target-128x128.py')
STEM_BN = 'backbone.stem.1.running_mean'
RPL_COROCL = osp.join(ROOT, 'configs/rpl/deeplabv3plus_r18-d16_rpl-corocl_500_toyscenes-128x128.py')
CLOSED_SET = osp.join(ROOT, 'configs/rpl/deeplabv3plus_r18-d16_closed-set_1k_toyscenes-128x128.py')
# A narrow ResNet-18 and DeepLabV3+ head (tests/models/rpl_testing.py's), and its FCN
# auxiliary head in the closed-set config.
TINY_RPL = {
    'model.backbone.stem_channels': 16, 'model.backbone.base_channels': 8,
    'model.backbone.init_cfg': None,  # narrow: no pretrained weights fit
    'model.decode_head.in_channels': 64, 'model.decode_head.channels': 16,
    'model.decode_head.c1_in_channels': 8, 'model.decode_head.c1_channels': 4,
}
TINY_AUX = {'model.auxiliary_head.in_channels': 32, 'model.auxiliary_head.channels': 8}


def recalibrate(*args):
    load_tool('recalibrate_bn').main([str(a) for a in args])


@pytest.fixture
def checkpoint(tmp_path):
    init_default_scope('mmseg')
    state = MODELS.build(Config.fromfile(CONFIG).model).state_dict()
    path = tmp_path / 'model.pth'
    torch.save({'state_dict': state, 'meta': {'iter': 3}}, path)
    return path, state


def test_both_branches_get_target_statistics_and_weights_stay(
        checkpoint, toyscenes_root, tmp_path):
    path, state = checkpoint
    out = tmp_path / 'adabn.pth'
    recalibrate(CONFIG, path, out, '--img-dir', 'img_dir/target_train',
                '--cfg-options', f'test_dataloader.dataset.data_root={toyscenes_root}')
    saved = torch.load(out, map_location='cpu', weights_only=False)
    assert saved['meta']['iter'] == 3
    assert saved['meta']['recalibrated_bn'] == dict(img_dir='img_dir/target_train', images=2,
                                                    batches=1)
    recalibrated = saved['state_dict']
    assert sorted(recalibrated) == sorted(state)
    for branch in ('student.', 'teacher.module.'):
        assert not torch.equal(recalibrated[branch + STEM_BN], state[branch + STEM_BN])
    # student and teacher start equal, so they see the same statistics
    torch.testing.assert_close(recalibrated['student.' + STEM_BN],
                               recalibrated['teacher.module.' + STEM_BN])
    for key in state:
        if 'running' not in key and 'num_batches_tracked' not in key:
            assert torch.equal(recalibrated[key], state[key]), key


def test_a_missing_image_folder_is_named(checkpoint, toyscenes_root, tmp_path):
    with pytest.raises(FileNotFoundError, match='img_dir/target_tran'):
        recalibrate(CONFIG, checkpoint[0], tmp_path / 'out.pth', '--img-dir',
                    'img_dir/target_tran',
                    '--cfg-options', f'test_dataloader.dataset.data_root={toyscenes_root}')


def test_a_checkpoint_of_another_model_is_refused_with_its_keys(
        checkpoint, toyscenes_root, tmp_path):
    path, state = checkpoint
    state.pop('student.' + STEM_BN)
    torch.save({'state_dict': state}, path)
    with pytest.raises(SystemExit, match=r'student\.backbone\.stem\.1\.running_mean'):
        recalibrate(CONFIG, path, tmp_path / 'out.pth', '--img-dir', 'img_dir/target_train',
                    '--cfg-options', f'test_dataloader.dataset.data_root={toyscenes_root}')
    assert not (tmp_path / 'out.pth').exists()


@pytest.mark.parametrize('force', [[], ['--force']])
def test_the_input_checkpoint_is_never_the_output(tmp_path, toyscenes_root, force):
    path = tmp_path / 'iter_1000.pth'
    path.write_bytes(b'a training checkpoint')  # refused before it is read
    with pytest.raises(SystemExit, match=f'{path} is also an input'):
        recalibrate(CONFIG, path, path, '--img-dir', 'img_dir/target_train', *force,
                    '--cfg-options', f'test_dataloader.dataset.data_root={toyscenes_root}')
    assert path.read_bytes() == b'a training checkpoint'


def test_an_existing_output_needs_force_before_the_model_is_built(
        tmp_path, toyscenes_root, monkeypatch):
    out = tmp_path / 'adabn.pth'
    out.write_bytes(b'an earlier recalibration')
    monkeypatch.setattr(MODELS, 'build', lambda cfg: pytest.fail('the model was built'))
    with pytest.raises(SystemExit, match=f'{out} exists; pass --force'):
        recalibrate(CONFIG, tmp_path / 'model.pth', out, '--img-dir', 'img_dir/target_train',
                    '--cfg-options', f'test_dataloader.dataset.data_root={toyscenes_root}')
    assert out.read_bytes() == b'an earlier recalibration'


def saved_with_running_means_of_5(config, options, path):
    """A checkpoint of ``config`` whose BN running means are all 5 (no reset layer has them)."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    state = MODELS.build(cfg.model).state_dict()
    for key in state:
        if key.endswith('running_mean'):
            state[key].fill_(5)
    torch.save({'state_dict': state, 'meta': {'iter': 500}}, path)
    return state


def test_rpl_residual_block_is_recalibrated_like_the_layers_it_copies(toyscenes_root, tmp_path):
    path, out = tmp_path / 'rpl.pth', tmp_path / 'rpl_adabn.pth'
    state = saved_with_running_means_of_5(RPL_COROCL, TINY_RPL, path)
    out.write_bytes(b'an earlier recalibration')
    recalibrate(RPL_COROCL, path, out, '--img-dir', 'img_dir/target_train', '--force',
                '--cfg-options', f'test_dataloader.dataset.data_root={toyscenes_root}',
                *[f'{key}={value}' for key, value in TINY_RPL.items()])
    saved = torch.load(out, map_location='cpu', weights_only=False)
    assert saved['meta']['recalibrated_bn'] == dict(img_dir='img_dir/target_train', images=2,
                                                    batches=1)
    recalibrated = saved['state_dict']
    assert sorted(recalibrated) == sorted(state)
    assert not torch.equal(recalibrated[STEM_BN], state[STEM_BN])
    # the residual block starts as a copy of the decoder's ASPP and bottleneck and sees
    # their inputs
    for layer in ('aspp_modules.0.bn.running_mean', 'bottleneck.bn.running_mean'):
        assert not torch.equal(recalibrated['decode_head.' + layer], state['decode_head.' + layer])
        torch.testing.assert_close(recalibrated['residual_block.' + layer],
                                   recalibrated['decode_head.' + layer])


def test_a_head_that_predicts_nothing_keeps_its_statistics(toyscenes_root, tmp_path):
    path, out = tmp_path / 'closed.pth', tmp_path / 'closed_adabn.pth'
    options = {**TINY_RPL, **TINY_AUX}
    state = saved_with_running_means_of_5(CLOSED_SET, options, path)
    recalibrate(CLOSED_SET, path, out, '--img-dir', 'img_dir/target_train',
                '--cfg-options', f'test_dataloader.dataset.data_root={toyscenes_root}',
                *[f'{key}={value}' for key, value in options.items()])
    recalibrated = torch.load(out, map_location='cpu', weights_only=False)['state_dict']
    assert not torch.equal(recalibrated[STEM_BN], state[STEM_BN])
    auxiliary = [key for key in state if key.startswith('auxiliary_head.') and 'running' in key]
    assert auxiliary
    for key in auxiliary:
        assert torch.equal(recalibrated[key], state[key]), key
