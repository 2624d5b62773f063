"""Per-sample seeding of the data augmentation, so that a resumed run
reproduces the unbroken one.

mmengine restores the data order on resume (the sampler is fast-forwarded)
but not the state of the random generators the transforms draw from, which
depends on how many samples each process has transformed since it started.
Here the sampler hands every draw a seed computed from (sampler seed,
position of the draw in the infinite index stream); the dataset transforms
the sample under generators seeded with it. The augmentation of a sample then
depends only on the seed, the iteration it is drawn in and its index: not on
resuming, ``num_workers`` or which worker loads it.
"""
import contextlib
import logging
import random

import numpy as np
import torch
from mmengine.dataset import InfiniteSampler
from mmengine.logging import print_log
from mmseg.registry import DATA_SAMPLERS


def derive_seed(*keys):
    """A 32-bit seed that is a function of the integer ``keys`` only."""
    return int(np.random.SeedSequence(keys).generate_state(1)[0])


@contextlib.contextmanager
def seeded_rngs(seed):
    """Seed Python's, numpy's and torch's global (CPU) generators for the
    block and restore their previous states afterwards."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


class SeededSamplesMixin:
    """Lets a dataset take ``(index, seed)`` items from
    :class:`SeededInfiniteSampler` and transform the sample under generators
    seeded with ``seed``; plain indices work as before."""

    def __getitem__(self, idx):
        if isinstance(idx, tuple):
            index, seed = idx
            with seeded_rngs(seed):
                return super().__getitem__(index)
        return super().__getitem__(idx)


@DATA_SAMPLERS.register_module()
class SeededInfiniteSampler(InfiniteSampler):
    """mmengine's :class:`InfiniteSampler` whose items also carry the seed of
    their draw: ``(index, derive_seed(seed, position))``, with ``position``
    the draw's place in the stream shared by all ranks.

    The dataset must be a :class:`SeededSamplesMixin`; for any other dataset
    it yields plain indices and warns that resumed runs will not reproduce
    the augmentation.
    """

    def __init__(self, dataset, shuffle=True, seed=None):
        super().__init__(dataset, shuffle=shuffle, seed=seed)
        self.seeded = isinstance(dataset, SeededSamplesMixin)
        if not self.seeded:
            print_log(
                f'SeededInfiniteSampler: {type(dataset).__name__} does not '
                'take seeded samples (SeededSamplesMixin); its augmentation '
                'is not seeded per sample, so a resumed run will not '
                'reproduce it', logger='current', level=logging.WARNING)

    def _indices_of_rank(self):
        if not self.seeded:
            yield from super()._indices_of_rank()
            return
        for position, index in enumerate(self._infinite_indices()):
            if position % self.world_size == self.rank:
                yield index, derive_seed(self.seed, position)
