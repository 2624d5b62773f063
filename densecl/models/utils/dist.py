"""Gathering rows from every process, for buffers that must agree across ranks."""
import torch
from mmengine import dist


def all_gather_rows(*tensors):
    """Concatenate each tensor's rows from all processes, in rank order.

    The tensors share their first dimension on each rank, which may differ
    between ranks; every rank gets the same result. Without a process group
    the inputs come back unchanged.
    """
    if dist.get_world_size() == 1:
        return tensors
    count = torch.tensor([tensors[0].shape[0]], device=tensors[0].device)
    counts = [int(c) for c in dist.all_gather(count)]
    longest = max(counts)
    gathered = []
    for tensor in tensors:
        padded = tensor.new_zeros(longest, *tensor.shape[1:])
        padded[:tensor.shape[0]] = tensor
        parts = dist.all_gather(padded)
        gathered.append(torch.cat([part[:n] for part, n in zip(parts, counts)]))
    return tuple(gathered)
