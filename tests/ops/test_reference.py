"""The naive oracle (densecl.ops.reference) against cases worked out by hand.

Three or four 2-D pixels, every similarity read off the vectors and every loss
written with math.exp / math.log, so the oracle itself is checked against
something that shares no code with it.
"""
import math

import pytest
import torch

from densecl.ops import reference

# Unit vectors with easy dot products: z0.z1 = 0.6, z0.z2 = 0, z1.z2 = 0.8.
Z = [[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]]


def tensor(rows):
    return torch.tensor(rows, dtype=torch.float64, requires_grad=True)


def nll(pos, others):
    """-log(e^pos / (e^pos + sum e^others))."""
    return -math.log(math.exp(pos) / (math.exp(pos) + sum(math.exp(o) for o in others)))


def test_logsumexp_by_hand():
    q = tensor([[1.0, 0.0], [0.0, 2.0]])
    k = tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    t = 0.5
    # Row 0 sees k1 (dot 0) and k2 (dot 1); row 1 sees k0 (0) and k2 (2).
    out = reference.logsumexp(q, k, t, True, None)
    expected = [math.log(math.exp(0 / t) + math.exp(1 / t)),
                math.log(math.exp(0 / t) + math.exp(2 / t))]
    assert out.tolist() == pytest.approx(expected, rel=1e-12)
    # Masking k2 leaves one column each; masking everything leaves -inf rows.
    out = reference.logsumexp(q, k, t, True, torch.tensor([True, True, False]))
    assert out.tolist() == pytest.approx([0.0, 0.0], abs=1e-12)
    out = reference.logsumexp(q, k, t, False, torch.zeros(3, dtype=torch.bool))
    assert torch.isneginf(out).all()
    out.backward(torch.ones(2, dtype=torch.float64))
    assert torch.equal(q.grad, torch.zeros_like(q)) and torch.equal(k.grad, torch.zeros_like(k))


def test_supcon_by_hand():
    t = 0.5
    # A fourth, ignored pixel identical to z2 must change nothing.
    z = tensor(Z + [[0.0, 1.0]])
    labels = torch.tensor([0, 0, 1, 255])
    l0 = nll(0.6 / t, [0.0 / t])       # positive z1, other z2
    l1 = nll(0.6 / t, [0.8 / t])       # positive z0, other z2
    loss = reference.supcon_loss(z, labels, t, 255, None, None, 'none')
    assert loss.tolist() == pytest.approx([l0, l1, 0.0, 0.0], rel=1e-12)
    mean = reference.supcon_loss(z, labels, t, 255, None, None, 'mean')
    assert mean.item() == pytest.approx((l0 + l1) / 2, rel=1e-12)
    total = reference.supcon_loss(z, labels, t, 255, None, None, 'sum')
    assert total.item() == pytest.approx(l0 + l1, rel=1e-12)


def test_supcon_with_extra_set_by_hand():
    t = 0.5
    z = tensor(Z)
    extra = tensor([[0.0, 1.0], [1.0, 0.0]])
    # The second extra entry is ignored: no positive, not in any denominator.
    extra_labels = torch.tensor([1, 255])
    l0 = nll(0.6 / t, [0.0 / t, 0.0 / t])      # others: z2, e0
    l1 = nll(0.6 / t, [0.8 / t, 0.8 / t])      # others: z2, e0
    l2 = nll(1.0 / t, [0.0 / t, 0.8 / t])      # positive e0; others z0, z1
    loss = reference.supcon_loss(z, torch.tensor([0, 0, 1]), t, 255, extra, extra_labels,
                                 'none')
    assert loss.tolist() == pytest.approx([l0, l1, l2], rel=1e-12)


def test_supcon_without_anchors_is_zero_with_zero_grad():
    z = tensor(Z)
    for labels in (torch.tensor([255, 255, 255]), torch.tensor([0, 1, 2])):
        loss = reference.supcon_loss(z, labels, 0.1, 255, None, None, 'mean')
        loss.backward()
        assert loss.item() == 0 and torch.equal(z.grad, torch.zeros_like(z))
        z.grad = None


def test_info_nce_by_hand():
    t = 0.5
    q = tensor([[1.0, 0.0], [0.0, 1.0]])
    k_pos = tensor([[0.6, 0.8], [0.0, 1.0]])
    negatives = tensor([[0.0, 1.0], [-1.0, 0.0]])
    l0 = nll(0.6 / t, [0.0 / t, -1.0 / t])
    l1 = nll(1.0 / t, [1.0 / t, 0.0 / t])
    loss = reference.info_nce(q, k_pos, negatives, t, 'none')
    assert loss.tolist() == pytest.approx([l0, l1], rel=1e-12)
    assert reference.info_nce(q, k_pos, negatives, t, 'mean').item() == \
        pytest.approx((l0 + l1) / 2, rel=1e-12)


def test_prototype_cross_entropy_by_hand():
    t = 0.5
    f = tensor([[1.0, 2.0], [3.0, 0.0]])
    mu = tensor([[1.0, 0.0], [0.0, 1.0]])
    var = tensor([[0.5, 0.0], [0.0, 0.25]])
    # f0: mu-logits 1/t = 2 and 2/t = 4; variance terms 1*0.5/(2t^2) = 1 and 4*0.25/(2t^2) = 2.
    # f1: mu-logits 6 and 0; variance terms 9*0.5/(2t^2) = 9 and 0.
    logits = reference.prototype_logits(f, mu, t, var)
    assert logits.flatten().tolist() == pytest.approx([3.0, 6.0, 15.0, 0.0], abs=1e-12)
    assert reference.prototype_logits(f, mu, t).flatten().tolist() == \
        pytest.approx([2.0, 4.0, 6.0, 0.0], abs=1e-12)
    labels = torch.tensor([0, 255])
    loss = reference.prototype_cross_entropy(f, mu, labels, t, var, 255, 'none')
    assert loss.tolist() == pytest.approx([nll(3.0, [6.0]), 0.0], rel=1e-12)
    labels = torch.tensor([1, 0])
    mean = reference.prototype_cross_entropy(f, mu, labels, t, var, 255, 'mean')
    assert mean.item() == pytest.approx((nll(6.0, [3.0]) + nll(15.0, [0.0])) / 2, rel=1e-12)
    no_var = reference.prototype_cross_entropy(f, mu, labels, t, None, 255, 'sum')
    assert no_var.item() == pytest.approx(nll(4.0, [2.0]) + nll(6.0, [0.0]), rel=1e-12)


def test_prototype_cross_entropy_all_ignored_is_zero():
    f = tensor([[1.0, 2.0]])
    mu = tensor([[1.0, 0.0], [0.0, 1.0]])
    loss = reference.prototype_cross_entropy(f, mu, torch.tensor([255]), 0.1, None, 255, 'mean')
    loss.backward()
    assert loss.item() == 0 and torch.equal(f.grad, torch.zeros_like(f))


def test_propagation_by_hand():
    # Similarities: x0.x1 = 0.6, x0.x2 = -1, x1.x2 = -0.6; negative ones get weight 0.
    x = tensor([[[1.0, 0.0], [0.6, 0.8], [-1.0, 0.0]]])
    value = tensor([[[1.0], [2.0], [3.0]]])
    y = reference.propagation(x, value, 2.0)
    assert y.flatten().tolist() == pytest.approx([1 + 0.36 * 2, 0.36 * 1 + 2, 3.0], rel=1e-12)
    y = reference.propagation(x, value, 1.0)
    assert y.flatten().tolist() == pytest.approx([1 + 0.6 * 2, 0.6 * 1 + 2, 3.0], rel=1e-12)
    # dy0/dx0 = sum_j 2 s0j v_j ds0j/dx0 with ds00/dx0 = 2 x0, ds01/dx0 = x1, and
    # no term for j = 2 (s02 < 0): 2 * 1 * 1 * 2 x0 + 2 * 0.6 * 2 * x1.
    y = reference.propagation(x, value, 2.0)
    y[0, 0, 0].backward()
    expected = [4 * 1.0 + 2.4 * 0.6, 2.4 * 0.8]
    assert x.grad[0, 0].tolist() == pytest.approx(expected, rel=1e-12)
