"""ContrastHead: bad input, all-ignored batches, banks in checkpoints, tools/train.py runs."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import densecl  # noqa: F401  (registers ContrastHead and the losses)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = [f'configs/contrast/fcn_r18-d16_{variant}_1k_toyscenes-128x128.py'
           for variant in ('supcon', 'contrastiveseg-bank', 'contrastiveseg-hard')]


def head(**overrides):
    init_default_scope('mmseg')
    cfg = dict(type='ContrastHead', in_channels=6, channels=8, embed_channels=4, num_classes=3,
               loss_decode=dict(type='PixelContrastLoss',
                                memory=dict(num_classes=3, dim=4, length=16)))
    return MODELS.build({**cfg, **overrides})


def samples(*label_maps):
    out = []
    for labels in label_maps:
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=labels[None])
        out.append(sample)
    return out


def test_in_channels_mismatch_names_the_head_and_both_counts():
    with pytest.raises(ValueError, match=r'ContrastHead: in_channels=6 .* has 5 channels'):
        head().loss([torch.randn(1, 5, 4, 4)], samples(torch.zeros(8, 8, dtype=torch.long)), {})


@pytest.mark.parametrize('field,value,numbers', [('num_classes', 5, ('5', '3')),
                                                 ('dim', 8, ('8', '4'))])
def test_memory_bank_that_does_not_fit_the_head_fails_at_build(field, value, numbers):
    memory = {**dict(num_classes=3, dim=4, length=16), field: value}
    with pytest.raises(ValueError, match=f'{numbers[0]}.*{numbers[1]}'):
        head(loss_decode=dict(type='PixelSupConLoss', memory=memory))


def test_all_ignored_labels_give_zero_loss_and_zero_gradients():
    contrast = head()
    features = torch.randn(2, 6, 4, 4, requires_grad=True)
    losses = contrast.loss([features], samples(*torch.full((2, 8, 8), 255)), {})
    losses['loss_contrast'].backward()
    assert losses['loss_contrast'].item() == 0
    assert torch.isfinite(features.grad).all() and features.grad.abs().sum() == 0


def test_labels_reach_the_loss_downsampled_and_the_bank_fills():
    contrast = head(label_downsample='majority', purity=0.75)
    labels = torch.zeros(8, 8, dtype=torch.long)
    labels[:, 4:] = 1
    labels[:2, :2] = 2  # a quarter of the top-left 4 x 4 cell: below purity there
    contrast.loss([torch.randn(1, 6, 2, 2)], samples(labels), {})
    bank = contrast.loss_decode.segment_bank
    assert bank.filled.tolist() == [1, 1, 0]  # class 2 is a minority everywhere


def test_checkpoint_without_bank_loads_into_a_head_with_one():
    plain = head(loss_decode=dict(type='PixelContrastLoss'))
    with_bank = head()
    result = with_bank.load_state_dict(plain.state_dict(), strict=True)
    assert not result.missing_keys
    assert with_bank.loss_decode.pixel_bank.filled.sum() == 0


def test_predict_is_refused():
    with pytest.raises(NotImplementedError, match='auxiliary_head'):
        head().predict([torch.randn(1, 6, 2, 2)], [{}], {})


# A narrow ResNet-18 (stages of 8/16/32/64 channels) so a few iterations take seconds.
TINY = {
    'model.backbone.stem_channels': 16, 'model.backbone.base_channels': 8,
    'model.backbone.init_cfg': None,  # narrow: no pretrained weights fit
    'model.decode_head.in_channels': 64, 'model.decode_head.channels': 16,
    'model.auxiliary_head.0.in_channels': 32, 'model.auxiliary_head.0.channels': 8,
    'model.auxiliary_head.1.in_channels': '[16,32,64]', 'model.auxiliary_head.1.channels': 16,
    'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False, 'val_dataloader.num_workers': 0,
    'val_dataloader.persistent_workers': False, 'train_cfg.val_interval': 100,
    'default_hooks.checkpoint.interval': 2, 'default_hooks.checkpoint.max_keep_ckpts': 3,
    'default_hooks.logger.interval': 1,
}


def train(config, work_dir, data_root, iters, *extra):
    options = {**TINY, 'train_cfg.max_iters': iters,
               **{f'{loader}.dataset.data_root': data_root
                  for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')}}
    result = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir', work_dir, *extra,
         '--cfg-options', *[f'{k}={v}' for k, v in options.items()]],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.mark.parametrize('config', CONFIGS)
def test_contrast_configs_train_through_the_tool(config, toyscenes_root, tmp_path):
    """Each contrast config trains through tools/train.py, logging its contrast loss."""
    log = train(config, str(tmp_path), toyscenes_root, 3)
    assert 'aux_1.loss_contrast' in log
    assert osp.isfile(tmp_path / 'iter_3.pth')


def test_resume_continues_with_the_same_bank(toyscenes_root, tmp_path):
    """tools/train.py --resume keeps the pixel bank's entries of iter_2 and goes on filling it."""
    config = CONFIGS[1]
    train(config, str(tmp_path), toyscenes_root, 2)
    train(config, str(tmp_path), toyscenes_root, 4, '--resume')
    prefix = 'auxiliary_head.1.loss_decode.pixel_bank.'
    before = torch.load(tmp_path / 'iter_2.pth', weights_only=False)['state_dict']
    after = torch.load(tmp_path / 'iter_4.pth', weights_only=False)['state_dict']
    filled = before[prefix + 'filled']
    assert filled.sum() > 0 and (after[prefix + 'filled'] > filled).any()
    for c, count in enumerate(filled.tolist()):  # the old entries are still there
        torch.testing.assert_close(after[prefix + 'bank'][c, :count],
                                   before[prefix + 'bank'][c, :count])
