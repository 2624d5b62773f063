"""KeyQueue: FIFO pointer arithmetic and state in the state dict."""
import pytest
import torch

from densecl.models.utils import KeyQueue


def test_pointer_advances_by_the_batch_modulo_the_length():
    queue = KeyQueue(length=6, dim=2)
    assert torch.allclose(queue.keys.norm(dim=1), torch.ones(6))
    written = []
    for step in range(5):
        keys = torch.full((4, 2), float(step))
        queue.push(keys)
        written.append(keys)
        assert int(queue.ptr) == (4 * (step + 1)) % 6
    # step 3 wrote slots 0..3, step 4 then slots 4, 5, 0, 1
    assert queue.keys[:, 0].tolist() == [4., 4., 3., 3., 4., 4.]


def test_a_push_longer_than_the_queue_keeps_its_newest_rows():
    queue = KeyQueue(length=3, dim=1)
    queue.push(torch.arange(5.)[:, None])
    assert sorted(queue.keys[:, 0].tolist()) == [2., 3., 4.]


def test_state_dict_carries_keys_and_pointer():
    queue = KeyQueue(length=4, dim=3)
    queue.push(torch.ones(3, 3))
    copy = KeyQueue(length=4, dim=3)
    copy.load_state_dict(queue.state_dict())
    assert torch.equal(copy.keys, queue.keys) and int(copy.ptr) == 3


@pytest.mark.parametrize('length,dim', [(0, 2), (4, 1.5), (True, 2)])
def test_bad_sizes_are_named(length, dim):
    with pytest.raises(ValueError, match='queue'):
        KeyQueue(length, dim)
