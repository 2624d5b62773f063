"""A per-class ring buffer of embeddings kept as module buffers."""
import torch
import torch.nn as nn
from mmengine.logging import print_log

from .dist import all_gather_rows


class ClassMemoryBank(nn.Module):
    """``length`` most recent embeddings of each of ``num_classes`` classes.

    The entries are buffers, so they are saved in checkpoints and a resumed
    run continues with the same bank. :meth:`push` gathers the new entries of
    every process first, so under DDP all ranks hold identical banks. A
    checkpoint written without the bank loads into a model with one: the bank
    then starts empty and a warning says so.

    Args:
        num_classes (int): number of classes.
        length (int): entries kept per class (the oldest are overwritten).
        dim (int): embedding dimension.
    """

    def __init__(self, num_classes, length, dim):
        super().__init__()
        for name, value in (('num_classes', num_classes), ('length', length), ('dim', dim)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'memory bank {name} must be a positive int, got {value!r}')
        self.num_classes, self.length, self.dim = num_classes, length, dim
        self.register_buffer('bank', torch.zeros(num_classes, length, dim))
        self.register_buffer('write_pos', torch.zeros(num_classes, dtype=torch.long))
        self.register_buffer('filled', torch.zeros(num_classes, dtype=torch.long))

    @torch.no_grad()
    def push(self, keys, labels):
        """Append (n, dim) ``keys`` with (n,) class ``labels`` (from every process)."""
        keys, labels = all_gather_rows(keys.detach().to(self.bank.dtype), labels)
        for c in labels.unique().tolist():
            rows = keys[labels == c][-self.length:]
            slots = (self.write_pos[c] + torch.arange(rows.shape[0], device=rows.device)) \
                % self.length
            self.bank[c, slots] = rows
            self.write_pos[c] = (self.write_pos[c] + rows.shape[0]) % self.length
            self.filled[c] = torch.clamp(self.filled[c] + rows.shape[0], max=self.length)

    def entries(self):
        """(M, dim) stored embeddings and their (M,) class labels."""
        used = torch.arange(self.length, device=self.bank.device)[None] < self.filled[:, None]
        labels = torch.arange(self.num_classes, device=self.bank.device)[:, None].expand_as(used)
        return self.bank[used], labels[used]

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        names = [prefix + name for name in self._buffers]
        if not any(name in state_dict for name in names):
            print_log(f'{prefix.rstrip(".") or "memory bank"}: not in the checkpoint, '
                      'starting empty', logger='current', level=30)
            return
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
