import os

import pytest
import torch

# Triton kernels run in the interpreter on machines without a GPU. The variable
# is read when a kernel is decorated, so it must be set before densecl.ops.triton
# is imported anywhere in the test session.
if not torch.cuda.is_available():
    os.environ.setdefault('TRITON_INTERPRET', '1')


# A tiny toyscenes copy shared by the dataset and training tests.
TINY_TOYSCENES_COUNTS = dict(
    train=6,
    val=2,
    unlabeled=1,
    target_train=2,
    target_val=1,
    ood_val=2,
    outliers=1)


@pytest.fixture(scope='session')
def toyscenes_counts():
    return dict(TINY_TOYSCENES_COUNTS)


@pytest.fixture(scope='session')
def toyscenes_root(tmp_path_factory):
    from densecl.datasets import generate
    root = tmp_path_factory.mktemp('toyscenes')
    generate(str(root), seed=0, size=64, counts=TINY_TOYSCENES_COUNTS)
    return str(root)


@pytest.fixture(scope='session', autouse=True)
def pretrained_backbone(tmp_path_factory):
    """A ResNet-18 V1c checkpoint in the format of ``make pretrained`` (random weights), named
    by DENSECL_PRETRAINED so that the toyscenes configs start from it: no test needs
    ``make pretrained``."""
    from mmseg.registry import MODELS

    import densecl  # noqa: F401
    backbone = MODELS.build(dict(type='ResNetV1c', depth=18, dilations=(1, 1, 1, 2),
                                 strides=(1, 2, 2, 1), contract_dilation=True))
    path = str(tmp_path_factory.mktemp('pretrained') / 'resnet18_v1c_random.pth')
    torch.save({'state_dict': {f'backbone.{key}': value
                               for key, value in backbone.state_dict().items()}}, path)
    os.environ['DENSECL_PRETRAINED'] = path
    return path


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'stack(name, why): run on that MM stack only (onedl or upstream); why: '
        'the code the test reaches beyond the other tests is the same on both stacks')


def pytest_runtest_setup(item):
    marker = item.get_closest_marker('stack')
    if marker is not None:
        from densecl.compat import MM_STACK
        if MM_STACK != marker.args[0]:
            pytest.skip(f'runs on the {marker.args[0]} stack only: {marker.kwargs["why"]}')
