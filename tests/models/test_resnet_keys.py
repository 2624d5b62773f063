"""Released ResNet layouts (torchvision, UniMatch deep stem) converted to mmseg's key names."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

import densecl  # noqa: F401  (registers the models)
from densecl.models.utils import convert_resnet_keys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# UniMatch's ResNet, by its own names: conv1 = Sequential(conv 3->64 /2, BN, ReLU, conv 64->64,
# BN, ReLU, conv 64->128), then bn1 (128), ReLU, max-pool; blocks and fc as torchvision's.
UNIMATCH_STEM_SHAPES = {'conv1.0.weight': (64, 3, 3, 3), 'conv1.1': 64,
                        'conv1.3.weight': (64, 64, 3, 3), 'conv1.4': 64,
                        'conv1.6.weight': (128, 64, 3, 3), 'bn1': 128}


def randomized(module, seed=0):
    """``module`` in eval mode with random BN statistics, so that a swapped BN would show."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, value in module.state_dict().items():
            if value.is_floating_point():
                value.copy_(torch.rand(value.shape, generator=generator) + 0.5
                            if 'running_var' in name or name.endswith('weight')
                            and value.dim() == 1 else
                            torch.randn(value.shape, generator=generator) * 0.1)
    module.eval()  # mmseg's ResNet.train returns None, so eval() cannot be chained
    return module


def unimatch_state(depth=50):
    """A random UniMatch-layout state dict: its stem by the names above, its blocks as mmseg's
    (the two share block names), plus the classifier."""
    generator = torch.Generator().manual_seed(1)
    state = {}
    for name, shape in UNIMATCH_STEM_SHAPES.items():
        if name.endswith('weight'):
            state[name] = torch.randn(shape, generator=generator) * 0.1
            continue
        state[f'{name}.weight'] = torch.rand(shape, generator=generator) + 0.5
        state[f'{name}.bias'] = torch.randn(shape, generator=generator) * 0.1
        state[f'{name}.running_mean'] = torch.randn(shape, generator=generator) * 0.1
        state[f'{name}.running_var'] = torch.rand(shape, generator=generator) + 0.5
        state[f'{name}.num_batches_tracked'] = torch.tensor(7)
    blocks = randomized(MODELS.build(dict(type='ResNetV1c', depth=depth, stem_channels=128)))
    state.update({key: value for key, value in blocks.state_dict().items()
                  if key.startswith('layer')})
    state['fc.weight'] = torch.randn(1000, 2048, generator=generator)
    state['fc.bias'] = torch.zeros(1000)
    return state


def unimatch_stem_forward(state, x):
    """UniMatch's stem written out from its own tensor names (eval-mode BN)."""
    def bn(x, name):
        return F.batch_norm(x, state[f'{name}.running_mean'], state[f'{name}.running_var'],
                            state[f'{name}.weight'], state[f'{name}.bias'], False, 0.0, 1e-5)
    x = F.relu(bn(F.conv2d(x, state['conv1.0.weight'], stride=2, padding=1), 'conv1.1'))
    x = F.relu(bn(F.conv2d(x, state['conv1.3.weight'], padding=1), 'conv1.4'))
    x = F.relu(bn(F.conv2d(x, state['conv1.6.weight'], padding=1), 'bn1'))
    return F.max_pool2d(x, 3, 2, 1)


def test_unimatch_stem_computes_the_same_in_mmseg_resnet_v1c():
    """Converted UniMatch weights load strictly into ResNetV1c(stem_channels=128), whose stem and
    max-pool compute UniMatch's stem; blocks keep their tensors and the classifier is gone."""
    state = unimatch_state()
    converted = convert_resnet_keys({f'module.{k}': v for k, v in state.items()}, 'unimatch')
    model = MODELS.build(dict(type='ResNetV1c', depth=50, stem_channels=128))
    model.eval()
    model.load_state_dict(converted, strict=True)
    x = torch.randn(2, 3, 33, 47)
    with torch.no_grad():
        ours = model.maxpool(model.stem(x))
    assert torch.allclose(ours, unimatch_stem_forward(state, x), atol=1e-5)
    assert converted['stem.7.running_var'] is state['bn1.running_var']
    assert converted['layer3.5.bn3.weight'] is state['layer3.5.bn3.weight']
    assert converted['layer4.0.downsample.0.weight'] is state['layer4.0.downsample.0.weight']
    assert not any(key.startswith('fc.') for key in converted)


def test_torchvision_layout_drops_only_the_classifier():
    """torchvision's ResNet names are mmseg ResNet's: only fc.* is dropped."""
    model = randomized(MODELS.build(dict(type='ResNet', depth=18)))
    state = dict(model.state_dict(), **{'fc.weight': torch.zeros(1000, 512),
                                        'fc.bias': torch.zeros(1000)})
    converted = convert_resnet_keys(state, 'torchvision')
    assert sorted(converted) == sorted(model.state_dict())
    assert converted['bn1.running_mean'] is state['bn1.running_mean']


def test_foreign_keys_and_unknown_layout_are_named():
    """Keys of another layout are refused by name, as is an unknown layout."""
    with pytest.raises(ValueError, match=r"2 key\(s\) are not of the torchvision ResNet layout: "
                                         r"\['stem.0.weight', 'head.conv.weight'\]"):
        convert_resnet_keys({'stem.0.weight': 0, 'head.conv.weight': 0, 'conv1.weight': 0},
                            'torchvision')
    with pytest.raises(ValueError, match="unknown ResNet layout 'timm'; known: "
                                         r"\['torchvision', 'unimatch'\]"):
        convert_resnet_keys({}, 'timm')


def test_convert_tool_writes_a_checkpoint_the_backbone_loads(tmp_path):
    """tools/convert_resnet.py writes backbone.* weights that a Pretrained init loads; a wrong
    depth is refused naming the keys, and nothing is written then."""
    source = str(tmp_path / 'resnet50_unimatch.pth')
    state = unimatch_state()
    torch.save(state, source)
    out = str(tmp_path / 'r50.pth')
    command = [sys.executable, 'tools/convert_resnet.py', source, out, '--layout', 'unimatch']
    wrong = subprocess.run(command + ['--depth', '101'], cwd=ROOT, capture_output=True,
                           text=True)
    assert wrong.returncode == 1 and 'missing keys' in wrong.stderr
    assert 'layer3.6.conv1.weight' in wrong.stderr and not osp.exists(out)
    result = subprocess.run(command + ['--depth', '50'], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    model = MODELS.build(dict(type='ResNetV1c', depth=50, stem_channels=128, init_cfg=dict(
        type='Pretrained', checkpoint=out, prefix='backbone.')))
    model.init_weights()
    assert torch.equal(model.state_dict()['stem.6.weight'], state['conv1.6.weight'])
