"""ClassStatistics: exact pooled moments over any batch split, the centroid bank, two processes."""
import os
import socket

import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp

from densecl.models.utils import ClassStatistics


def full_data_moments(features, labels, num_classes):
    """Mean and biased variance of each class, written with torch.var over all rows at once."""
    mean = torch.zeros(num_classes, features.shape[1], dtype=torch.float64)
    var = torch.zeros_like(mean)
    for c in range(num_classes):
        rows = features[labels == c].double()
        if len(rows):
            mean[c], var[c] = rows.mean(0), rows.var(0, unbiased=False)
    return mean, var


@pytest.mark.parametrize('splits', [[60], [1, 59], [7, 13, 40], [20, 20, 20], [59, 1]])
def test_running_statistics_equal_full_data_moments(splits):
    torch.manual_seed(0)
    features = torch.randn(60, 5) * torch.tensor([1., 2., 3., 0.5, 10.]) + 4
    labels = torch.randint(0, 4, (60,))
    labels[::7] = 255  # ignored
    labels[labels == 3] = 2  # class 3 is never seen
    stats = ClassStatistics(4, 5, bank_length=10)
    for f, y in zip(features.split(splits), labels.split(splits)):
        stats.update(f, y)
    mean, var = full_data_moments(features, labels, 4)
    torch.testing.assert_close(stats.mean.double(), mean, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(stats.var.double(), var, rtol=1e-5, atol=1e-5)
    counts = torch.tensor([(labels == c).sum() for c in range(4)])
    assert torch.equal(stats.count, counts)
    assert stats.seen.tolist() == [True, True, True, False]


def test_bank_keeps_the_last_centroids_of_each_class():
    stats = ClassStatistics(3, 2, bank_length=2)
    batches = [([[0., 0.], [2., 2.]], [0, 0]),  # class 0 centroid (1, 1)
               ([[4., 0.]], [1]),                # class 1 centroid (4, 0)
               ([[3., 3.], [5., 1.]], [0, 1]),   # class 0 (3, 3), class 1 (5, 1)
               ([[6., 6.]], [0])]                # class 0 (6, 6): drops (1, 1)
    for f, y in batches:
        stats.update(torch.tensor(f), torch.tensor(y))
    entries, classes = stats.bank_entries()
    got = sorted((int(c), tuple(e.tolist())) for e, c in zip(entries, classes))
    assert got == [(0, (3., 3.)), (0, (6., 6.)), (1, (4., 0.)), (1, (5., 1.))]


def _rank(rank, port, features, labels, result):
    torch_dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                  world_size=2)
    stats = ClassStatistics(3, 4, bank_length=5)
    for step in range(2):  # rank r sees rows r, r + 2, ... of each step's batch
        f, y = features[step], labels[step]
        stats.update(f[rank::2], y[rank::2])
    result[rank] = {k: v.clone() for k, v in stats.state_dict().items()}
    torch_dist.destroy_process_group()


def test_two_processes_hold_the_statistics_of_the_whole_batch():
    torch.manual_seed(1)
    features = torch.randn(2, 30, 4)
    labels = torch.randint(0, 3, (2, 30))
    labels[1, :4] = 255
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    result = mp.Manager().dict()
    mp.spawn(_rank, args=(port, features, labels, result), nprocs=2)
    single = ClassStatistics(3, 4, bank_length=5)
    for step in range(2):
        single.update(features[step], labels[step])
    for rank in (0, 1):
        for key, value in single.state_dict().items():
            torch.testing.assert_close(result[rank][key], value, msg=f'rank {rank}: {key}')
