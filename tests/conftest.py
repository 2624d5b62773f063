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
