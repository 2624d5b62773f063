"""Named ImageNet weights resolve to local files, or stop the run with one clear message."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

import densecl  # noqa: F401  (registers the models)
from densecl.engine import resolve_pretrained, resolve_weights, weights_url

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CITYSCAPES = osp.join(
    ROOT, 'configs/contrast/deeplabv3plus_r50-d8_contrastiveseg_4xb2-40k_cityscapes-512x1024.py')
R50_V1C_FILE = 'resnet50_v1c-2cccc1ad.pth'  # the file behind open-mmlab://resnet50_v1c


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty weights folder and an empty torch hub cache."""
    weights = tmp_path / 'weights'
    weights.mkdir()
    monkeypatch.setenv('DENSECL_WEIGHTS', str(weights))
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    return weights


def test_names_map_to_the_published_files():
    """open-mmlab:// and torchvision:// names give the URLs of their published files."""
    assert weights_url('open-mmlab://resnet50_v1c').endswith(
        '/pretrain/third_party/' + R50_V1C_FILE)
    assert weights_url('torchvision://resnet101') == \
        'https://download.pytorch.org/models/resnet101-63fe2227.pth'
    assert weights_url('https://host/a/b.pth') == 'https://host/a/b.pth'
    assert weights_url('data/pretrained/r18.pth') is None
    with pytest.raises(KeyError, match='open-mmlab://resnet51_v1c: unknown'):
        weights_url('open-mmlab://resnet51_v1c')


def test_local_file_found_in_weights_folder_then_hub_cache(offline, tmp_path):
    """The weights folder is looked in first, then torch hub's download cache."""
    hub = tmp_path / 'hub' / 'checkpoints'
    hub.mkdir(parents=True)
    (hub / R50_V1C_FILE).write_bytes(b'')
    assert resolve_weights('open-mmlab://resnet50_v1c', 'k') == str(hub / R50_V1C_FILE)
    (offline / R50_V1C_FILE).write_bytes(b'')
    assert resolve_weights('open-mmlab://resnet50_v1c', 'k') == str(offline / R50_V1C_FILE)
    assert resolve_weights('local.pth', 'k') == 'local.pth'


def test_missing_named_weights_name_file_folder_url_and_key(offline):
    """Without a local copy the error names the file, the folder, the URL and the key."""
    with pytest.raises(FileNotFoundError) as error:
        resolve_weights('torchvision://resnet50', 'model.backbone.init_cfg.checkpoint')
    message = str(error.value)
    for part in ('resnet50-0676ba61.pth', str(offline), 'download.pytorch.org/models/',
                 '--cfg-options model.backbone.init_cfg.checkpoint=PATH', 'DENSECL_WEIGHTS'):
        assert part in message, part


def write_random_r50_v1c(path, extra=()):
    backbone = MODELS.build(dict(type='ResNetV1c', depth=50))
    state = backbone.state_dict()
    state.update({key: torch.zeros(2) for key in extra})
    torch.save(state, path)
    return state


def test_model_pretrained_becomes_the_backbone_init_from_the_local_file(offline):
    """A config's ``model.pretrained`` name turns into its backbone's init from the local file,
    which then initialises the backbone; an ImageNet classifier in the file is allowed."""
    path = str(offline / R50_V1C_FILE)
    state = write_random_r50_v1c(path, extra=('fc.weight', 'fc.bias'))
    cfg = Config.fromfile(CITYSCAPES)
    resolve_pretrained(cfg)
    assert cfg.model.pretrained is None
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained', checkpoint=path)
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    assert torch.equal(backbone.state_dict()['layer4.2.conv3.weight'],
                       state['layer4.2.conv3.weight'])


def test_named_file_of_another_depth_names_keys(offline):
    """A named file that lacks the module's keys is refused, naming them."""
    torch.save(MODELS.build(dict(type='ResNetV1c', depth=18)).state_dict(),
               str(offline / R50_V1C_FILE))
    with pytest.raises(ValueError, match=r"does not fit model.backbone: missing keys \[.*"
                                         r"'layer1.0.conv3.weight'"):
        resolve_pretrained(Config.fromfile(CITYSCAPES))


def test_pretrained_and_init_cfg_both_set_is_refused(offline):
    """``pretrained`` and an explicit init_cfg on the module it starts cannot both hold."""
    write_random_r50_v1c(str(offline / R50_V1C_FILE))
    cfg = Config.fromfile(CITYSCAPES)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint='x.pth')
    with pytest.raises(ValueError, match='model.pretrained and the init_cfg'):
        resolve_pretrained(cfg)


def test_train_offline_stops_with_one_message_before_any_work(tmp_path):
    """tools/train.py on a paper config without the weights exits with the message naming the
    file and folder, not a URLError, before it looks for the dataset."""
    env = dict(os.environ, DENSECL_WEIGHTS=str(tmp_path / 'weights'),
               TORCH_HOME=str(tmp_path / 'torch'))
    result = subprocess.run(
        [sys.executable, 'tools/train.py', CITYSCAPES, '--work-dir', str(tmp_path / 'work')],
        cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('FileNotFoundError: model.pretrained: open-mmlab://resnet50_v1c')
    assert R50_V1C_FILE in last and str(tmp_path / 'weights') in last
    assert 'URLError' not in result.stderr and 'cityscapes' not in result.stderr


def test_missing_converted_weights_name_the_converters(offline):
    """A missing file in the weights folder points at the converters, not `make pretrained`."""
    cfg = Config.fromfile(CITYSCAPES)
    cfg.model.pretrained = None
    missing = str(offline / 'resnet101_unimatch.pth')
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=missing, prefix='backbone.')
    with pytest.raises(FileNotFoundError) as error:
        resolve_pretrained(cfg)
    message = str(error.value)
    assert f'{missing} does not exist' in message and 'tools/convert_resnet.py' in message
    assert 'make pretrained' not in message
