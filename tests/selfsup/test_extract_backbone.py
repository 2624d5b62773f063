"""tools/extract_backbone.py output loads into an mmseg EncoderDecoder with no missing key."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from selfsup_testing import DENSECL_CONFIG, ROOT, TINY_DENSECL
from tool_testing import load_tool

QUICKSTART = osp.join(ROOT, 'configs/quickstart/fcn_r18-d16_1k_toyscenes-128x128.py')


def build(path, options):
    init_default_scope('mmseg')
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(options)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def test_extracted_backbone_initialises_a_segmenter(tmp_path):
    pretrainer = build(DENSECL_CONFIG, TINY_DENSECL)
    with torch.no_grad():  # weights no fresh segmenter could have by chance
        for value in pretrainer.state_dict().values():
            if value.is_floating_point():
                value.uniform_(-1, 1)
    torch.save({'meta': {'iter': 7}, 'state_dict': pretrainer.state_dict(), 'optimizer': {}},
               tmp_path / 'pretrain.pth')
    out = tmp_path / 'backbone.pth'
    assert load_tool('extract_backbone').main([str(tmp_path / 'pretrain.pth'), str(out)]) == 0
    extracted = torch.load(out)['state_dict']
    assert all(key.startswith('backbone.') for key in extracted)

    segmenter = build(QUICKSTART, {
        'model.backbone.stem_channels': 16, 'model.backbone.base_channels': 8,
        'model.decode_head.in_channels': 64, 'model.auxiliary_head.in_channels': 32,
        'model.backbone.init_cfg': dict(type='Pretrained', checkpoint=str(out),
                                        prefix='backbone.')})
    expected = segmenter.backbone.state_dict()
    # zero missing backbone keys, the deep stem included, and every value loaded
    assert {f'backbone.{key}' for key in expected} == set(extracted)
    assert any(key.startswith('stem.') for key in expected)
    for key, value in expected.items():
        torch.testing.assert_close(value, extracted[f'backbone.{key}'], msg=key)


def test_a_checkpoint_without_encoder_fails_with_its_keys(tmp_path, capsys):
    torch.save({'meta': {}, 'state_dict': {'decode_head.conv_seg.weight': torch.zeros(1)}},
               tmp_path / 'head.pth')
    assert load_tool('extract_backbone').main([str(tmp_path / 'head.pth'),
                                               str(tmp_path / 'out.pth')]) == 1
    error = capsys.readouterr().err
    assert "top-level keys: ['meta', 'state_dict']" in error
    assert "state dict modules: ['decode_head']" in error
    assert not (tmp_path / 'out.pth').exists()


def test_analyze_tool_reports_alignment_and_uniformity(toyscenes_root, tmp_path, capsys):
    options = [f'{key}={value}' for key, value in TINY_DENSECL.items()]
    result = tmp_path / 'metrics.json'
    assert load_tool('analyze_dense_features').main([
        DENSECL_CONFIG, '--batches', '1', '--json', str(result), '--cfg-options',
        f'train_dataloader.dataset.data_root={toyscenes_root}', *options]) == 0
    assert 'alignment:' in capsys.readouterr().out
    metrics = json.loads(result.read_text())
    assert 0 <= metrics['alignment'] <= 4 and -4 <= metrics['uniformity'] <= 0


def test_extract_backbone_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_tool('extract_backbone').main([str(tmp_path / 'missing.pth'),
                                            str(tmp_path / 'out.pth')])


def save_pretraining(path):
    torch.save({'meta': {'iter': 7}, 'state_dict': {'backbone.conv.weight': torch.ones(2)},
                'optimizer': {'state': {}}}, path)
    return path.read_bytes()


@pytest.mark.parametrize('force', [[], ['--force']])
def test_the_input_checkpoint_is_never_the_output(tmp_path, capsys, force):
    checkpoint = tmp_path / 'iter_7.pth'
    before = save_pretraining(checkpoint)
    assert load_tool('extract_backbone').main([str(checkpoint), str(checkpoint), *force]) == 1
    assert f'{checkpoint} is also an input' in capsys.readouterr().err
    assert checkpoint.read_bytes() == before  # optimizer and meta kept


def test_an_existing_output_needs_force_before_anything_is_loaded(tmp_path, capsys):
    out = tmp_path / 'backbone.pth'
    out.write_bytes(b'earlier backbone')
    # the input does not exist: the output is refused before it is read
    assert load_tool('extract_backbone').main([str(tmp_path / 'missing.pth'), str(out)]) == 1
    assert f'{out} exists; pass --force' in capsys.readouterr().err
    assert out.read_bytes() == b'earlier backbone'
    save_pretraining(tmp_path / 'iter_7.pth')
    assert load_tool('extract_backbone').main([str(tmp_path / 'iter_7.pth'), str(out),
                                               '--force']) == 0
    assert list(torch.load(out)['state_dict']) == ['backbone.conv.weight']


def test_a_failed_write_keeps_the_previous_output(tmp_path, monkeypatch):
    save_pretraining(tmp_path / 'iter_7.pth')
    out = tmp_path / 'backbone.pth'
    out.write_bytes(b'earlier backbone')

    def disk_full(obj, f):
        f.write(b'half a checkpoint')
        raise OSError('No space left on device')

    monkeypatch.setattr(torch, 'save', disk_full)
    with pytest.raises(OSError, match='No space left'):
        load_tool('extract_backbone').main([str(tmp_path / 'iter_7.pth'), str(out), '--force'])
    assert out.read_bytes() == b'earlier backbone'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['backbone.pth', 'iter_7.pth']
