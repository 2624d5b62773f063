"""Training hooks of densecl."""
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.runner import set_random_seed
from mmseg.registry import HOOKS

from densecl.datasets.seeding import derive_seed


@HOOKS.register_module()
class IterSeedHook(Hook):
    """Seed the global generators from (seed, iteration, rank) before each
    training iteration.

    The model's own randomness (dropout, sampled anchors, queue updates) then
    does not depend on what ran before in the process, so a resumed run
    repeats the unbroken one; the data augmentation is seeded per sample by
    :class:`~densecl.datasets.SeededInfiniteSampler`.
    """
    priority = 'VERY_HIGH'

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        set_random_seed(derive_seed(runner.seed, runner.iter, get_rank()))
