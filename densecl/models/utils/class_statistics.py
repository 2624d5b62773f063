"""Per-class feature statistics over all training history, for SePiCo's contrasts."""
import torch
import torch.nn as nn
from mmengine import dist


class ClassStatistics(nn.Module):
    """Exact running mean and biased diagonal variance of each class, and a centroid bank.

    SePiCo (Xie et al., TPAMI 2023) describes class ``c`` by the mean ``mu_c``
    and per-dimension variance ``var_c`` of every feature labelled ``c`` seen
    so far. :meth:`update` folds in a batch whose class-``c`` features have
    count ``n_c``, mean ``a_c`` and biased variance ``v_c``; with the history
    count ``N_c`` and ``w = n_c / (n_c + N_c)``::

        var_c <- (1 - w) var_c + w v_c + w (1 - w) (mu_c - a_c)^2
        mu_c  <- (1 - w) mu_c + w a_c,        N_c <- N_c + n_c

    which is the pooled mean and biased variance of all features so far, for
    any split into batches. The batch moments are summed over all processes
    (the released code keeps one unsynchronised copy per GPU), so every rank
    holds the statistics of the global batch. Each update also appends
    ``a_c`` of every class in the batch to a ring buffer of the last
    ``bank_length`` centroids (BankCL). All state is buffers: checkpoints and
    resuming keep it.

    Args:
        num_classes (int): number of classes.
        dim (int): feature dimension.
        bank_length (int): centroids kept per class (200 in SePiCo).
        ignore_index (int): label of features that are skipped.
    """

    def __init__(self, num_classes, dim, bank_length=200, ignore_index=255):
        super().__init__()
        if bank_length < 1:
            raise ValueError(f'bank_length must be >= 1, got {bank_length}')
        self.ignore_index = ignore_index
        self.register_buffer('mean', torch.zeros(num_classes, dim))
        self.register_buffer('var', torch.zeros(num_classes, dim))
        self.register_buffer('count', torch.zeros(num_classes, dtype=torch.long))
        self.register_buffer('bank', torch.zeros(num_classes, bank_length, dim))
        self.register_buffer('bank_size', torch.zeros(num_classes, dtype=torch.long))
        self.register_buffer('bank_next', torch.zeros(num_classes, dtype=torch.long))

    @property
    def seen(self):
        """(K,) bool: classes with statistics."""
        return self.count > 0

    def batch_moments(self, features, labels):
        """Global (K,) counts, (K, D) means and biased variances of the batch, in float64."""
        num_classes, dim = self.mean.shape
        valid = labels != self.ignore_index
        f, y = features[valid].detach().double(), labels[valid].long()
        counts = torch.bincount(y, minlength=num_classes).double()
        sums = f.new_zeros(num_classes, dim).index_add(0, y, f)
        dist.all_reduce(counts)
        dist.all_reduce(sums)
        means = sums / counts.clamp_min(1)[:, None]
        # centred second pass: exact where sum(f^2) - n a^2 would cancel
        squares = f.new_zeros(num_classes, dim).index_add(0, y, (f - means[y]) ** 2)
        dist.all_reduce(squares)
        return counts, means, squares / counts.clamp_min(1)[:, None]

    @torch.no_grad()
    def update(self, features, labels):
        """Fold in (N, D) ``features`` with (N,) ``labels`` of this process's batch."""
        counts, means, variances = self.batch_moments(features, labels)
        seen = counts > 0
        w = (counts / (counts + self.count.double()).clamp_min(1))[:, None]
        mu, var = self.mean.double(), self.var.double()
        new_var = (1 - w) * var + w * variances + w * (1 - w) * (mu - means) ** 2
        new_mean = (1 - w) * mu + w * means
        self.var[seen] = new_var[seen].to(self.var.dtype)
        self.mean[seen] = new_mean[seen].to(self.mean.dtype)
        self.count += counts.long()
        classes = seen.nonzero()[:, 0]
        self.bank[classes, self.bank_next[classes]] = means[classes].to(self.bank.dtype)
        self.bank_next[classes] = (self.bank_next[classes] + 1) % self.bank.shape[1]
        self.bank_size[classes] = (self.bank_size[classes] + 1).clamp_max(self.bank.shape[1])

    def bank_entries(self):
        """(M, D) stored centroids and their (M,) classes."""
        length = self.bank.shape[1]
        filled = torch.arange(length, device=self.bank.device)[None] < self.bank_size[:, None]
        classes = torch.arange(self.bank.shape[0], device=self.bank.device)
        return self.bank[filled], classes[:, None].expand(-1, length)[filled]
