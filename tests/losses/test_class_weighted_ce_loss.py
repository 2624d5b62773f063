"""Class-weighted cross-entropy: the weighted mean over labelled pixels, void left out."""
import math

import pytest
import torch
from mmseg.registry import MODELS

import densecl  # noqa: F401  (registers the loss)


def test_weighted_mean_over_labelled_pixels_by_hand():
    """Two labelled pixels of weights 2 and 0.5 and one void pixel: (2 l0 + 0.5 l1) / 2.5."""
    loss = MODELS.build(dict(type='ClassWeightedCrossEntropyLoss', class_weight=[2.0, 0.5],
                             loss_weight=3.0))
    logits = torch.tensor([[0.0, 0.0, 5.0], [math.log(3), 0.0, -5.0]]).view(1, 2, 1, 3)
    label = torch.tensor([[[0, 1, 255]]])
    l0 = -math.log(1 / 4)  # pixel 0: logits (0, log 3), label 0
    l1 = -math.log(1 / 2)  # pixel 1: logits (0, 0), label 1
    expected = 3.0 * (2.0 * l0 + 0.5 * l1) / 2.5
    assert loss(logits, label).item() == pytest.approx(expected, rel=1e-6)
    assert loss.loss_name == 'loss_ce'


def test_class_count_mismatch_is_named():
    """A weight list of another length than the classes is refused with both counts."""
    loss = MODELS.build(dict(type='ClassWeightedCrossEntropyLoss', class_weight=[1.0] * 19))
    with pytest.raises(ValueError, match='19 class weights for 5 classes'):
        loss(torch.zeros(1, 5, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))
