"""BatchNorm statistics re-estimated on another domain's images.

AdaBN (Li et al., "Revisiting Batch Normalization For Practical Domain
Adaptation", ICLR-W 2017): a network trained on a source domain often fails on
a target domain mostly through the mean and variance its BatchNorm layers keep;
replacing them by target statistics, with every weight unchanged, is a
label-free adaptation baseline.
"""
import copy
import itertools

import torch
from torch.nn.modules.batchnorm import _BatchNorm


def tensor_forward(segmentor, inputs):
    """mmseg's tensor-mode forward (EncoderDecoder: backbone, neck, decode head)."""
    return segmentor(inputs, mode='tensor')


@torch.no_grad()
def recalibrate_batchnorm(segmentors, batches, forward=tensor_forward):
    """Replace the running statistics of every BatchNorm layer of ``segmentors``
    that ``forward`` reaches.

    Each running mean (variance) becomes the average over ``batches`` of the
    per-batch mean (unbiased variance) that layer sees in ``forward(seg,
    inputs)`` of each segmentor. Layers no forward reaches (auxiliary heads)
    keep their statistics. Weights are not changed; the segmentors'
    train/eval modes and the layers' momenta are restored.

    Args:
        segmentors (list[nn.Module]): e.g. ``[model]``, or a teacher-student
            model's student and teacher.
        batches (Iterable[Tensor]): preprocessed (N, C, H, W) images.
        forward (callable): ``forward(segmentor, inputs)``, the layers that
            predict; :func:`tensor_forward` by default.

    Returns:
        int: the number of batches used.

    Raises:
        ValueError: when the segmentors have no BatchNorm layer or
            ``batches`` is empty.
    """
    norms = [m for seg in segmentors for m in seg.modules() if isinstance(m, _BatchNorm)]
    if not norms:
        raise ValueError('recalibrate_batchnorm: the segmentors have no BatchNorm layer')
    batches = iter(batches)
    first = next(batches, None)
    if first is None:  # checked before the statistics are reset
        raise ValueError('recalibrate_batchnorm: no batches given')
    modes = [(m, m.training) for seg in segmentors for m in seg.modules()]
    momenta = [m.momentum for m in norms]
    before = [copy.deepcopy(m.state_dict()) for m in norms]
    for seg in segmentors:
        seg.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the batches
        norm.train()
    count = 0
    try:
        for inputs in itertools.chain([first], batches):
            for seg in segmentors:
                forward(seg, inputs)
            count += 1
    finally:
        for module, training in modes:
            module.training = training
        for norm, momentum, state in zip(norms, momenta, before):
            norm.momentum = momentum
            if not norm.num_batches_tracked:  # no forward reached it
                norm.load_state_dict(state)
    return count
