"""SePiCo's ProtoCL, DistCL, BankCL and regulariser against hand computations."""
import math

import pytest
import torch
import torch.nn.functional as F

from densecl.losses import SePiCoContrastLoss
from densecl.ops import centroid_bank_loss
from densecl.models.utils import ClassStatistics


def statistics(mean, var, bank=None):
    stats = ClassStatistics(len(mean), len(mean[0]), bank_length=4)
    stats.mean.copy_(torch.tensor(mean))
    stats.var.copy_(torch.tensor(var))
    stats.count.fill_(1)
    if bank is not None:
        for c, entries in enumerate(bank):
            stats.bank[c, :len(entries)] = torch.tensor(entries)
            stats.bank_size[c] = len(entries)
    return stats


MEAN = [[1., 0.], [0., 1.], [0.6, 0.8]]
F2 = torch.tensor([[1., 0.], [0., 1.], [0.8, 0.6]])
Y = torch.tensor([0, 2, 255])


def test_proto_is_cross_entropy_of_dot_products_over_temperature():
    loss = SePiCoContrastLoss('proto', temperature=0.5)(F2, Y, statistics(MEAN, [[0.] * 2] * 3))
    # pixel 0: logits (1, 0, 0.6) / 0.5; pixel 1: (0, 1, 0.8) / 0.5, label 2
    ce0 = -2 + math.log(math.exp(2) + 1 + math.exp(1.2))
    ce1 = -1.6 + math.log(1 + math.exp(2) + math.exp(1.6))
    assert loss.item() == pytest.approx((ce0 + ce1) / 2, rel=1e-6)


def test_dist_with_zero_variance_equals_proto():
    torch.manual_seed(0)
    f = F.normalize(torch.randn(40, 3), dim=1)
    y = torch.randint(0, 3, (40,))
    stats = statistics(F.normalize(torch.randn(3, 3), dim=1).tolist(), [[0.] * 3] * 3)
    for t in (0.1, 100.):
        dist = SePiCoContrastLoss('dist', temperature=t)(f, y, stats)
        proto = SePiCoContrastLoss('proto', temperature=t)(f, y, stats)
        torch.testing.assert_close(dist, proto)


def test_dist_adds_the_variance_term_to_every_logit_and_the_true_class():
    var = [[0.5, 0.], [0., 2.], [1., 1.]]
    f, y, t, r = F2[:1], Y[:1], 0.5, 2.
    loss = SePiCoContrastLoss('dist', temperature=t, var_ratio=r)(f, y, statistics(MEAN, var))
    # f = (1, 0): f^2 . var_k = (0.5, 0, 1); term_k = r / (2 t^2) * that = 4 * (0.5, 0, 1)
    logits = [2 + 2., 0 + 0., 1.2 + 4.]
    ce = -logits[0] + math.log(sum(math.exp(v) for v in logits))
    assert loss.item() == pytest.approx(ce + 2., rel=1e-6)


def test_classes_without_statistics_are_neither_logits_nor_anchors():
    stats = statistics(MEAN, [[0.] * 2] * 3)
    stats.count[1] = 0
    loss = SePiCoContrastLoss('proto', temperature=1.)(F2, torch.tensor([0, 1, 1]), stats)
    assert loss.item() == pytest.approx(-1 + math.log(math.e + math.exp(0.6)), rel=1e-6)


def test_bank_loss_by_hand():
    # class 0 bank: (1, 0), (0, 1); class 1 bank: (0, 1) -> its mean logit is f . (0, 1) / t
    bank = [[[1., 0.], [0., 1.]], [[0., 1.]]]
    stats = statistics([[0.] * 2] * 2, [[0.] * 2] * 2, bank)
    f, t = torch.tensor([[0.6, 0.8]]), 0.5
    loss = SePiCoContrastLoss('bank', temperature=t)(f, torch.tensor([0]), stats)
    neg = math.exp(1.6)
    expected = -0.5 * (math.log(math.exp(1.2) / (math.exp(1.2) + neg))
                       + math.log(math.exp(1.6) / (math.exp(1.6) + neg)))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_bank_loss_negatives_are_class_mean_logits():
    torch.manual_seed(2)
    f = F.normalize(torch.randn(30, 4, dtype=torch.float64), dim=1)
    y = torch.randint(0, 3, (30,))
    bank = torch.randn(9, 4, dtype=torch.float64)
    bank_y = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2])
    t = 0.7
    logits = f @ bank.t() / t
    expected = []
    for i in range(30):
        neg = sum(logits[i, bank_y == k].mean().exp() for k in range(3) if k != y[i])
        pos = logits[i, bank_y == y[i]]
        expected.append(-(pos.exp() / (pos.exp() + neg)).log().mean())
    for backend in ('tiled', 'reference'):
        got = centroid_bank_loss(f, y, bank, bank_y, t, reduction='none', backend=backend)
        torch.testing.assert_close(got, torch.stack(expected))


def test_regulariser_is_zero_when_uniform_and_grows_with_collapse():
    stats = statistics(MEAN, [[0.] * 2] * 3)
    loss = SePiCoContrastLoss('proto', temperature=1.)
    # mean feature (0, 0): logits all 0, p uniform -> KL 0
    balanced = torch.tensor([[1., 0.], [-1., 0.]])
    assert loss.regulariser(balanced, stats.mean).item() == pytest.approx(0, abs=1e-7)
    collapsed = torch.tensor([[1., 0.], [1., 0.]])
    logits = torch.tensor([1., 0., 0.6])
    kl = -(F.log_softmax(logits, 0)).mean() - math.log(3)
    assert loss.regulariser(collapsed, stats.mean).item() == pytest.approx(
        kl.item() / math.log(3), rel=1e-6)
    weighted = SePiCoContrastLoss('proto', temperature=1., reg_weight=2.)
    plain = loss(collapsed, torch.tensor([0, 0]), stats)
    torch.testing.assert_close(weighted(collapsed, torch.tensor([0, 0]), stats),
                               plain + 2 * kl / math.log(3))


def test_bad_mode_and_loss_name_are_rejected():
    with pytest.raises(ValueError, match='mode'):
        SePiCoContrastLoss('cosine')
    with pytest.raises(ValueError, match='loss_'):
        SePiCoContrastLoss(loss_name='contrast')
