import pytest
import torch

from densecl.ops import tiled


@pytest.fixture(autouse=True)
def one_thread():
    """Run single-threaded: the tests launch thousands of tiny per-tile matmuls, and
    on small VMs each OpenMP parallel region can cost ~20 ms of thread wake-up."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiles(monkeypatch):
    """``tiles(rows, cols)``: tile sizes that split ``rows`` x ``cols`` into ~4 x 3 ragged tiles."""

    def set_tiles(rows, cols):
        monkeypatch.setattr(tiled, 'ROW_TILE', rows // 4 + 1)
        monkeypatch.setattr(tiled, 'COL_TILE', cols // 3 + 2)

    return set_tiles
