"""A first-in first-out queue of keys, the negatives of MoCo-style contrast."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .dist import all_gather_rows


class KeyQueue(nn.Module):
    """The ``length`` most recent keys (He et al., CVPR 2020; Wang et al., CVPR 2021).

    Starts with random unit vectors, as MoCo and DenseCL do. The keys and
    the write pointer are buffers, so a resumed run continues with the same
    queue. :meth:`push` gathers the keys of every process first, so under
    DDP all ranks hold identical queues. Pushes of any size wrap around the
    end; :class:`~densecl.engine.QueueLengthCheckHook` requires ``length``
    to be a multiple of the global batch before training starts, as the
    released code assumes.

    Args:
        length (int): number of keys kept.
        dim (int): key dimension.
    """

    def __init__(self, length, dim):
        super().__init__()
        for name, value in (('length', length), ('dim', dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f'queue {name} must be a positive int, got {value!r}')
        self.length, self.dim = length, dim
        self.register_buffer('keys', F.normalize(torch.randn(length, dim), dim=1))
        self.register_buffer('ptr', torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def push(self, keys):
        """Overwrite the oldest entries with (n, dim) ``keys`` of every process, in rank order."""
        keys, = all_gather_rows(keys.detach().to(self.keys.dtype))
        keys = keys[-self.length:]
        slots = (self.ptr + torch.arange(keys.shape[0], device=keys.device)) % self.length
        self.keys[slots] = keys
        self.ptr.copy_((self.ptr + keys.shape[0]) % self.length)
