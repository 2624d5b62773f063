"""The pretrained backbone of the toyscenes configs: found, switched, checked, loaded."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import densecl  # noqa: F401  (registers the segmentors)
from densecl.engine import resolve_pretrained, init_options, pretrained_inits

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONTRAST = osp.join(ROOT, 'configs/contrast/deeplabv3plus_r18-d16_1k_toyscenes-128x128.py')
SEMI = osp.join(ROOT, 'configs/semi/deeplabv3plus_r18-d16_supervised_1k_toyscenes-1-16-128x128.py')


def pretrained(checkpoint):
    return dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')


def test_pretrained_inits_finds_nested_and_listed_modules():
    model = dict(type='A', segmentor=dict(backbone=dict(type='R', init_cfg=pretrained('a.pth')),
                                          heads=[dict(type='H'),
                                                 dict(type='H', init_cfg=pretrained('b.pth'))]),
                 neck=dict(type='N', init_cfg=dict(type='Kaiming')))
    found = pretrained_inits(model)
    assert [path for path, _ in found] == ['model.segmentor.backbone', 'model.segmentor.heads.1']
    assert found[1][1]['init_cfg']['checkpoint'] == 'b.pth'


def test_init_options_switch_every_pretrained_module():
    cfg = Config.fromfile(SEMI)
    assert init_options(cfg, 'scratch') == {'model.segmentor.backbone.init_cfg': None}
    assert init_options(cfg, 'pretrained', 'x.pth') == {
        'model.segmentor.backbone.init_cfg.checkpoint': 'x.pth'}
    assert init_options(cfg, 'pretrained') == {}  # the config's own file
    with pytest.raises(ValueError, match="init must be 'pretrained' or 'scratch', got 'imagenet'"):
        init_options(cfg, 'imagenet')
    cfg.merge_from_dict(init_options(cfg, 'scratch'))  # as tools/train.py applies it
    assert cfg.model.segmentor.backbone.init_cfg is None and not pretrained_inits(cfg.model)


def test_missing_checkpoint_names_file_and_make_pretrained(tmp_path):
    cfg = Config.fromfile(CONTRAST)
    missing = str(tmp_path / 'none.pth')
    cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': missing})
    with pytest.raises(FileNotFoundError) as error:
        resolve_pretrained(cfg)
    message = str(error.value)
    assert missing in message and '`make pretrained`' in message
    assert 'model.backbone.init_cfg=None' in message


def test_checkpoint_of_another_backbone_names_keys(pretrained_backbone, tmp_path):
    state = torch.load(pretrained_backbone, map_location='cpu')['state_dict']
    state.pop('backbone.layer4.1.bn2.weight')
    state['backbone.fc.weight'] = torch.zeros(2)
    state['backbone.stem.0.weight'] = torch.zeros(3, 3)
    other = str(tmp_path / 'other.pth')
    torch.save({'state_dict': state}, other)
    cfg = Config.fromfile(CONTRAST)
    cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': other})
    with pytest.raises(ValueError) as error:
        resolve_pretrained(cfg)
    message = str(error.value)
    assert "missing keys ['layer4.1.bn2.weight']" in message
    assert "unexpected keys ['fc.weight']" in message
    assert "another shape ['stem.0.weight']" in message


def test_fitting_checkpoint_and_other_schemes_pass(pretrained_backbone):
    cfg = Config.fromfile(CONTRAST)
    cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': pretrained_backbone})
    resolve_pretrained(cfg)
    assert cfg.model.backbone.init_cfg.checkpoint == pretrained_backbone
    cfg.model.backbone.init_cfg = ConfigDict(pretrained('s3://bucket/r18.pth'))
    resolve_pretrained(cfg)  # left to mmengine
    assert cfg.model.backbone.init_cfg.checkpoint == 's3://bucket/r18.pth'


@pytest.mark.parametrize('config', [CONTRAST, SEMI], ids=['contrast', 'semi'])
def test_backbone_starts_from_the_checkpoint(config, pretrained_backbone):
    init_default_scope('mmseg')
    model = MODELS.build(Config.fromfile(config).model)  # DENSECL_PRETRAINED: the test file
    model.init_weights()
    backbone = model.student.backbone if hasattr(model, 'student') else model.backbone
    expected = torch.load(pretrained_backbone, map_location='cpu')['state_dict']
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, expected[f'backbone.{key}']), key


def test_train_refuses_missing_backbone_before_loading_data(tmp_path):
    """tools/train.py stops on a missing pretrained backbone before it builds a dataset."""
    missing = str(tmp_path / 'none.pth')
    result = subprocess.run(
        [sys.executable, 'tools/train.py', CONTRAST, '--work-dir', str(tmp_path / 'work'),
         '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path / "no_data"}'],
        cwd=ROOT, capture_output=True, text=True,
        env=dict(os.environ, DENSECL_PRETRAINED=missing))
    assert result.returncode != 0
    assert f'{missing} does not exist' in result.stderr and 'make pretrained' in result.stderr
    assert 'no_data' not in result.stderr  # checked before any dataset was built
