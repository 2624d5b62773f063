import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Run single-threaded: the tests launch thousands of tiny per-tile matmuls, and
    on small VMs each OpenMP parallel region can cost ~20 ms of thread wake-up."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
