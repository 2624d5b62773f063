"""tools/recalibrate_bn.py on a teacher-student checkpoint, and its bad-input errors."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs/sepico/'
                  'deeplabv3plus_r18-d16_self-training_1k_toyscenes-source2target-128x128.py')
STEM_BN = 'backbone.stem.1.running_mean'


def recalibrate(*args):
    spec = importlib.util.spec_from_file_location('recalibrate_bn',
                                                  osp.join(ROOT, 'tools', 'recalibrate_bn.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main([str(a) for a in args])


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
