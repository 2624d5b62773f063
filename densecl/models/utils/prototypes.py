"""Class prototypes kept as an exponential moving average of raw class-mean embeddings."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine import dist


class ClassPrototypes(nn.Module):
    """One prototype per class, averaged over training steps (CSS, Wang et al., ICCV 2023).

    At each :meth:`update` the mean ``m_c`` of the raw (not normalised)
    embeddings of the pixels labelled ``c``, over all processes so DDP ranks
    agree, moves the prototype: ``P_c <- decay * P_c + (1 - decay) * m_c``; a
    class seen for the first time takes ``m_c``, as CSS's release does.
    ``decay`` is the weight of the old value (0.99 in CSS), the opposite of
    mmengine's EMA ``momentum``. A class never seen keeps a zero prototype,
    whose :meth:`cosines` are 0. Prototypes are buffers, so checkpoints save
    and resume them.

    Args:
        num_classes (int): number of classes.
        dim (int): embedding dimension.
        decay (float): weight of the previous prototype, in [0, 1).
        ignore_index (int): label of pixels that do not update the prototypes.
    """

    def __init__(self, num_classes, dim, decay=0.99, ignore_index=255):
        super().__init__()
        if not 0 <= decay < 1:
            raise ValueError(f'prototype decay must be in [0, 1), got {decay}')
        self.decay = decay
        self.ignore_index = ignore_index
        self.register_buffer('prototypes', torch.zeros(num_classes, dim))
        self.register_buffer('initialized', torch.zeros(num_classes, dtype=torch.bool))

    @torch.no_grad()
    def update(self, embeddings, labels):
        """Fold in (N, D) ``embeddings`` with (N,) ``labels`` (``ignore_index`` skipped)."""
        num_classes = self.prototypes.shape[0]
        valid = labels != self.ignore_index
        sums = self.prototypes.new_zeros(num_classes, self.prototypes.shape[1]).index_add(
            0, labels[valid].long(), embeddings[valid].detach().to(self.prototypes.dtype))
        counts = torch.bincount(labels[valid].long(), minlength=num_classes).to(sums.dtype)
        dist.all_reduce(sums)
        dist.all_reduce(counts)
        seen = counts > 0
        means = sums[seen] / counts[seen, None]
        self.prototypes[seen] = torch.where(
            self.initialized[seen, None],
            self.decay * self.prototypes[seen] + (1 - self.decay) * means, means)
        self.initialized |= seen

    def cosines(self, embeddings):
        """(N, K) cosine similarities of (N, D) ``embeddings`` to the prototypes."""
        return F.normalize(embeddings, dim=1) @ F.normalize(self.prototypes, dim=1).to(
            embeddings.dtype).t()
