"""Training hooks of densecl."""
import math

from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import set_random_seed
from mmseg.registry import HOOKS

from densecl.datasets.seeding import derive_seed
from densecl.models.utils import KeyQueue


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


def _unwrapped(model):
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class QueueLengthCheckHook(Hook):
    """Fail before the first iteration when a key queue's length is not a multiple of the
    global batch (batch size x processes), naming both numbers.

    MoCo-style queues (DenseCL's) are written a global batch at a time; the
    released code asserts this in the middle of training.
    """
    priority = 'VERY_HIGH'

    def before_train(self, runner):
        batch_size = runner.train_dataloader.batch_size
        world_size = get_world_size()
        global_batch = batch_size * world_size
        for name, module in _unwrapped(runner.model).named_modules():
            if isinstance(module, KeyQueue) and module.length % global_batch:
                raise ValueError(
                    f'{name}: queue length {module.length} is not a multiple of the global '
                    f'batch {global_batch} (batch_size {batch_size} x {world_size} processes)')


@HOOKS.register_module()
class PixProMomentumHook(Hook):
    """PixPro's cosine schedule of the momentum encoder (Xie et al., CVPR 2021).

    The decay rises from ``1 - m0`` to 1 over training: in mmengine's EMA
    convention the momentum at iteration k of K is
    ``m0 * (cos(pi k / K) + 1) / 2``, with ``m0`` the model's configured
    momentum (0.01 = decay 0.99).
    """
    priority = 'HIGH'

    def before_train(self, runner):
        self.base_momentum = _unwrapped(runner.model).momentum_encoder.momentum

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        progress = runner.iter / runner.max_iters
        _unwrapped(runner.model).momentum_encoder.momentum = \
            self.base_momentum * (math.cos(math.pi * progress) + 1) / 2


@HOOKS.register_module()
class DenseLossWarmupHook(Hook):
    """Hold DenseCL's ``loss_lambda`` at 0 for the first ``warmup_iters`` iterations.

    DenseCL's optional warm-up (Wang et al., CVPR 2021): the dense
    correspondence is meaningless before the backbone has learnt anything,
    so only the global loss trains at first.

    Args:
        warmup_iters (int): iterations with the dense loss off.
    """
    priority = 'HIGH'

    def __init__(self, warmup_iters):
        if isinstance(warmup_iters, bool) or not isinstance(warmup_iters, int) \
                or warmup_iters < 0:
            raise ValueError(f'warmup_iters must be an int >= 0, got {warmup_iters!r}')
        self.warmup_iters = warmup_iters

    def before_train(self, runner):
        self.loss_lambda = _unwrapped(runner.model).loss_lambda

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        warm = runner.iter < self.warmup_iters
        _unwrapped(runner.model).loss_lambda = 0. if warm else self.loss_lambda
