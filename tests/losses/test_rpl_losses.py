"""RPL losses against formulas written out element by element."""
import math

import pytest
import torch

from densecl.losses import OutlierEnergyLoss, RPLInlierLoss


def entropy(probabilities):
    return -sum(p * math.log(p) for p in probabilities)


def test_inlier_loss_by_hand():
    out1 = torch.tensor([[2.0, 0.0], [0.0, 1.0]]).T.reshape(1, 2, 1, 2)  # pixels: (2, 0), (0, 1)
    out2 = torch.tensor([[1.0, 1.0], [3.0, 0.0]]).T.reshape(1, 2, 1, 2)  # pixels: (1, 1), (3, 0)
    mask = torch.tensor([[[True, True]]])
    # pixel 1: target class 0, out2 uniform; pixel 2: target class 1
    ce = (math.log(2) + (math.log(math.exp(3) + 1) - 0)) / 2
    p1 = [math.exp(2) / (math.exp(2) + 1), 1 / (math.exp(2) + 1)]
    p2 = [1 / (1 + math.e), math.e / (1 + math.e)]
    q2 = [math.exp(3) / (math.exp(3) + 1), 1 / (math.exp(3) + 1)]
    mse = ((entropy([0.5, 0.5]) - entropy(p1))**2 + (entropy(q2) - entropy(p2))**2) / 2
    loss = RPLInlierLoss(entropy_weight=0.5, loss_weight=2.0)(out2, out1, mask)
    assert loss.item() == pytest.approx(2 * (ce + 0.5 * mse), rel=1e-5)
    only_first = RPLInlierLoss()(out2, out1, torch.tensor([[[True, False]]]))
    assert only_first.item() == pytest.approx(math.log(2) + (entropy([0.5, 0.5]) - entropy(p1))**2,
                                              rel=1e-5)


def test_outlier_loss_by_hand():
    logits = torch.tensor([[0.0, 0.0], [-5.0, -6.0], [1.0, 2.0]]).T.reshape(1, 2, 1, 3)
    mask = torch.tensor([[[True, True, False]]])
    lse = [math.log(2), math.log(math.exp(-5) + math.exp(-6))]  # second below the margin
    loss = OutlierEnergyLoss(margin=0.0, loss_weight=0.05)(logits, mask)
    assert loss.item() == pytest.approx(0.05 * (lse[0] + 0) / 2, rel=1e-5)
    shifted = OutlierEnergyLoss(margin=-10.0, loss_weight=1.0)(logits, mask)
    assert shifted.item() == pytest.approx((lse[0] + 10 + lse[1] + 10) / 2, rel=1e-5)


@pytest.mark.parametrize('loss', [RPLInlierLoss(), OutlierEnergyLoss()])
def test_empty_mask_gives_zero_with_a_graph(loss):
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    mask = torch.zeros(1, 2, 2, dtype=torch.bool)
    value = loss(logits, logits.detach(), mask) if isinstance(loss, RPLInlierLoss) \
        else loss(logits, mask)
    value.backward()
    assert value.item() == 0 and logits.grad.abs().sum() == 0
