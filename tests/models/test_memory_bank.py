"""ClassMemoryBank: ring arithmetic, checkpoints, and identical banks across processes."""
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from densecl.models.utils import ClassMemoryBank


def rows(*values):
    return torch.tensor([[float(v), 0.] for v in values])


def test_ring_buffer_keeps_the_newest_entries_per_class():
    bank = ClassMemoryBank(num_classes=3, length=3, dim=2)
    bank.push(rows(1, 2, 10), torch.tensor([0, 0, 2]))
    assert bank.filled.tolist() == [2, 0, 1] and bank.write_pos.tolist() == [2, 0, 1]
    bank.push(rows(3, 4), torch.tensor([0, 0]))
    # slots of class 0: 1, 2, then 3 -> slot 2, 4 wraps to slot 0
    assert bank.bank[0, :, 0].tolist() == [4., 2., 3.]
    assert bank.filled.tolist() == [3, 0, 1] and bank.write_pos.tolist() == [1, 0, 1]
    bank.push(rows(5, 6, 7, 8, 9), torch.tensor([0] * 5))  # more than length: last 3 kept
    assert sorted(bank.bank[0, :, 0].tolist()) == [7., 8., 9.]
    keys, labels = bank.entries()
    assert labels.tolist() == [0, 0, 0, 2]
    assert sorted(keys[:3, 0].tolist()) == [7., 8., 9.] and keys[3, 0] == 10.


def test_checkpoint_roundtrip_and_checkpoint_without_bank():
    bank = ClassMemoryBank(2, 4, 2)
    bank.push(rows(1, 2, 3), torch.tensor([0, 1, 1]))
    other = ClassMemoryBank(2, 4, 2)
    other.load_state_dict(bank.state_dict())
    assert torch.equal(other.bank, bank.bank) and other.filled.tolist() == [1, 2]
    fresh = ClassMemoryBank(2, 4, 2)
    result = fresh.load_state_dict({}, strict=True)  # an older checkpoint: starts empty
    assert not result.missing_keys and fresh.filled.sum() == 0
    with pytest.raises(RuntimeError, match='size mismatch'):
        ClassMemoryBank(3, 4, 2).load_state_dict(bank.state_dict())


def test_invalid_sizes_are_named():
    with pytest.raises(ValueError, match='length'):
        ClassMemoryBank(2, 0, 4)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _push_on_rank(rank, port, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.distributed.init_process_group('gloo', rank=rank, world_size=2)
    bank = ClassMemoryBank(num_classes=2, length=8, dim=2)
    # rank 0 pushes 3 rows, rank 1 pushes 1: unequal counts across ranks
    keys = rows(*[10 * rank + i for i in range(3 - 2 * rank)])
    bank.push(keys, torch.tensor([0, 1, 0][:keys.shape[0]]))
    torch.save(bank.state_dict(), os.path.join(out_dir, f'rank{rank}.pth'))
    torch.distributed.destroy_process_group()


def test_two_processes_hold_identical_banks(tmp_path):
    mp.spawn(_push_on_rank, args=(_free_port(), str(tmp_path)), nprocs=2)
    banks = [torch.load(tmp_path / f'rank{r}.pth') for r in range(2)]
    for name in banks[0]:
        assert torch.equal(banks[0][name], banks[1][name]), name
    # rank order: class 0 gets 0, 2 (rank 0) then 10 (rank 1); class 1 gets 1
    assert banks[0]['bank'][0, :3, 0].tolist() == [0., 2., 10.]
    assert banks[0]['bank'][1, :1, 0].tolist() == [1.]
    assert banks[0]['filled'].tolist() == [3, 1]
