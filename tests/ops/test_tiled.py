"""The tiled CPU path (densecl.ops.tiled and the losses composed on it) against the oracle.

The oracle is densecl.ops.reference in float64: dense matrices, textbook masks.
Tiles are shrunk so that every case spans several row and column tiles with
ragged last tiles. Float32 results are compared with a tolerance; float64
ones go through torch.autograd.gradcheck.
"""
import pytest
import torch

import densecl.ops as ops
from densecl.ops import reference, tiled
from ops_testing import (LargestTensor, assert_close, compare, labels_with, randn,
                         value_and_grads)


# ------------------------------------------------------------- logsumexp

# (N, M, D, temperature, exclude_self, masked, self_contrast)
LSE_CASES = [
    (1, 1, 16, 0.1, False, False, False),
    (1, 1, 16, 0.1, True, False, True),          # the only column is the row itself
    (7, 7, 16, 0.05, True, True, True),
    (7, 300, 64, 0.2, False, True, False),
    (300, 300, 128, 1.0, True, False, True),
    (300, 1500, 16, 0.5, True, True, False),
    (1500, 1500, 16, 0.1, True, True, True),
    (1500, 7, 64, 0.07, False, False, False),
]


@pytest.mark.parametrize('N,M,D,t,exclude_self,masked,same', LSE_CASES)
def test_logsumexp_matches_reference(tiles, N, M, D, t, exclude_self, masked, same):
    tiles(N, M)
    q, k = randn(N, D, seed=N + D, norm=1), randn(M, D, seed=M * D, norm=1)
    k_mask = None
    if masked:
        k_mask = torch.rand(M, generator=torch.Generator().manual_seed(M)) > 0.3
        k_mask[0] = False
    upstream = randn(N, seed=7)
    if same:
        got = compare(lambda x: tiled.logsumexp(x, x, t, exclude_self, k_mask),
                      lambda x: reference.logsumexp(x, x, t, exclude_self, k_mask), [q],
                      upstream=upstream)
    else:
        got = compare(lambda a, b: tiled.logsumexp(a, b, t, exclude_self, k_mask),
                      lambda a, b: reference.logsumexp(a, b, t, exclude_self, k_mask), [q, k],
                      upstream=upstream)
    assert got[0].shape == (N,)
    assert all(torch.isfinite(g).all() for g in got[1:])


def test_logsumexp_empty_rows_are_neg_inf_with_exactly_zero_grad(tiles):
    tiles(40, 37)
    q, k = randn(40, 16, seed=0).float(), randn(37, 16, seed=1).float()
    cases = [
        # Only column 5 usable and self excluded: row 5 is empty, the rest are not.
        (q, k, True, torch.arange(37) == 5, torch.arange(40) == 5),
        (q, k, False, torch.zeros(37, dtype=torch.bool), torch.ones(40, dtype=torch.bool)),
        (q, k[:0], False, None, torch.ones(40, dtype=torch.bool)),
    ]
    for q_, k_, exclude_self, k_mask, empty in cases:
        q_, k_ = q_.clone().requires_grad_(), k_.clone().requires_grad_()
        lse = tiled.logsumexp(q_, k_, 0.1, exclude_self, k_mask)
        assert torch.equal(torch.isneginf(lse), empty) and torch.isfinite(lse[~empty]).all()
        lse.backward(torch.ones_like(lse))
        assert torch.equal(q_.grad[empty], torch.zeros_like(q_.grad[empty]))
        assert torch.isfinite(q_.grad).all() and torch.isfinite(k_.grad).all()
        # -inf rows contribute nothing to the keys either.
        if empty.all():
            assert torch.equal(k_.grad, torch.zeros_like(k_))
    x = q[:1].clone().requires_grad_()
    lse = tiled.logsumexp(x, x, 0.1, True, None)
    lse.backward(torch.ones_like(lse))
    assert torch.isneginf(lse).all() and torch.equal(x.grad, torch.zeros_like(x))


@pytest.mark.parametrize('t', [0.05, 1.0])
def test_logsumexp_large_norm_inputs_do_not_overflow(tiles, t):
    tiles(50, 70)
    q, k = randn(50, 64, seed=1, norm=100), randn(70, 64, seed=2, norm=100)
    k[3] = q[3]          # one exact logit of 1e4 / t
    got = value_and_grads(lambda a, b: tiled.logsumexp(a, b, t, False, None), [q, k],
                          torch.float32)
    want = value_and_grads(lambda a, b: reference.logsumexp(a, b, t, False, None), [q, k],
                           torch.float64)
    assert all(torch.isfinite(g).all() for g in got)
    assert_close(got[0], want[0], rtol=1e-5)
    # Logits reach 2e5, so float32 rounding of q.k alone moves P by ~1e-2 relative.
    assert_close(got[1], want[1], rtol=2e-2)
    assert_close(got[2], want[2], rtol=2e-2)
    # In float64 the tiles and the dense matrix agree to rounding.
    exact = value_and_grads(lambda a, b: tiled.logsumexp(a, b, t, False, None), [q, k],
                            torch.float64)
    for g, w in zip(exact, want):
        assert_close(g, w, rtol=1e-10)


def test_logsumexp_duplicated_rows(tiles):
    tiles(45, 23)
    base = randn(10, 32, seed=3, norm=1)
    q = base[torch.arange(45) % 10]
    k = torch.cat([base, base, base[:3]])
    k_mask = torch.ones(23, dtype=torch.bool)
    k_mask[1] = False
    compare(lambda a, b: tiled.logsumexp(a, b, 0.1, True, k_mask),
            lambda a, b: reference.logsumexp(a, b, 0.1, True, k_mask), [q, k])
    compare(lambda a: tiled.logsumexp(a, a, 0.1, True, None),
            lambda a: reference.logsumexp(a, a, 0.1, True, None), [q])


def test_logsumexp_gradient_only_where_needed(tiles):
    tiles(30, 20)
    q = randn(30, 16, seed=4).float().requires_grad_()
    k = randn(20, 16, seed=5).float()
    tiled.logsumexp(q, k, 0.2, False, None).sum().backward()
    q64 = q.detach().double().requires_grad_()
    reference.logsumexp(q64, k.double(), 0.2, False, None).sum().backward()
    assert_close(q.grad, q64.grad)


# ----------------------------------------------------------- propagation

# (B, L, D, E, gamma)
PROP_CASES = [
    (2, 1, 16, 8, 2.0),
    (2, 7, 16, 8, 1.0),
    (2, 300, 64, 8, 2.0),
    (1, 300, 128, 4, 1.5),
    (1, 1500, 16, 4, 2.0),
]


@pytest.mark.parametrize('B,L,D,E,gamma', PROP_CASES)
def test_propagation_matches_reference(tiles, B, L, D, E, gamma):
    tiles(L, L)
    x, value = randn(B, L, D, seed=L, norm=1), randn(B, L, E, seed=D)
    if L > 1:
        x[:, 1] = x[:, 0]      # a duplicated pixel: similarity exactly 1
    got = compare(lambda a, v: tiled.propagation(a, v, gamma),
                  lambda a, v: reference.propagation(a, v, gamma), [x, value],
                  upstream=randn(B, L, E, seed=1))
    assert got[0].shape == (B, L, E)


# ---------------------------------------------------------------- losses

# (N, D, t, classes, norm, extra M, label offset)
SUPCON_CASES = [
    (7, 16, 0.1, 2, 1, 0, 0),
    (7, 64, 0.5, 3, 1, 5, 0),
    (300, 128, 0.05, 5, 1, 0, 0),
    (300, 16, 1.0, 19, 1, 200, 1000),       # sparse labels, bank
    (1500, 16, 0.1, 8, 1, 300, 0),
    (300, 64, 0.07, 4, 100, 40, 0),         # unnormalised, norm 100
]


@pytest.mark.parametrize('N,D,t,classes,norm,M,offset', SUPCON_CASES)
def test_supcon_matches_reference(tiles, N, D, t, classes, norm, M, offset):
    tiles(N, N)
    z = randn(N, D, seed=N + D, norm=norm)
    labels = labels_with(N, classes, seed=N, offset=offset)
    inputs, extra_labels = [z], None
    if M:
        inputs.append(randn(M, D, seed=M, norm=norm))
        extra_labels = labels_with(M, classes + 1, seed=M, offset=offset)

    def loss(backend):
        return lambda z, extra=None: ops.supcon_loss(
            z, labels, t, extra=extra, extra_labels=extra_labels, reduction='none',
            backend=backend)

    rtol = 1e-4 if norm == 1 else 1e-3
    got = compare(loss('tiled'), loss('reference'), inputs, rtol=rtol,
                  upstream=randn(N, seed=2))
    assert (got[0][labels == 255] == 0).all()
    # 'mean' averages over anchors with a positive.
    mean = ops.supcon_loss(z, labels, t, extra=inputs[1] if M else None,
                           extra_labels=extra_labels, backend='tiled')
    naive_mean = reference.supcon_loss(z, labels, t, 255, inputs[1] if M else None,
                                       extra_labels, 'mean')
    assert_close(mean, naive_mean, rtol)


@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
def test_supcon_without_anchors_is_zero_with_zero_grad(tiles, reduction):
    tiles(20, 20)
    for labels, extra_labels in [(torch.full((20,), 255), None),
                                 (torch.full((20,), 255), torch.tensor([1, 2, 255])),
                                 (torch.arange(20), None),               # no positives
                                 (torch.tensor([4] + [255] * 19), torch.tensor([5, 6, 255]))]:
        z = randn(20, 16, seed=0).float().requires_grad_()
        extra = None if extra_labels is None else randn(3, 16, seed=1).float().requires_grad_()
        loss = ops.supcon_loss(z, labels, extra=extra, extra_labels=extra_labels,
                               reduction=reduction, backend='tiled')
        loss.sum().backward()
        assert torch.equal(loss, torch.zeros_like(loss))
        assert torch.equal(z.grad, torch.zeros_like(z))
        if extra is not None:
            assert torch.equal(extra.grad, torch.zeros_like(extra))


def test_supcon_positive_only_in_bank(tiles):
    """A single valid pixel: no batch denominator (-inf), the bank alone decides."""
    tiles(5, 5)
    z, extra = randn(5, 16, seed=0, norm=1), randn(6, 16, seed=1, norm=1)
    labels = torch.tensor([255, 255, 3, 255, 255])
    extra_labels = torch.tensor([3, 1, 1, 255, 3, 0])
    compare(lambda z, e: ops.supcon_loss(z, labels, 0.1, extra=e, extra_labels=extra_labels,
                                         backend='tiled'),
            lambda z, e: reference.supcon_loss(z, labels, 0.1, 255, e, extra_labels, 'mean'),
            [z, extra])


# (N, Q, D, t, norm)
INFO_NCE_CASES = [
    (1, 7, 16, 0.2, 1),
    (300, 5000, 64, 0.07, 1),
    (300, 1, 128, 1.0, 1),
    (50, 700, 16, 0.2, 100),
]


@pytest.mark.parametrize('N,Q,D,t,norm', INFO_NCE_CASES)
def test_info_nce_matches_reference(tiles, N, Q, D, t, norm):
    tiles(N, Q)
    inputs = [randn(N, D, seed=1, norm=norm), randn(N, D, seed=2, norm=norm),
              randn(Q, D, seed=3, norm=norm)]
    compare(lambda q, k, n: ops.info_nce(q, k, n, t, reduction='none', backend='tiled'),
            lambda q, k, n: reference.info_nce(q, k, n, t, 'none'), inputs,
            rtol=1e-4 if norm == 1 else 1e-3, upstream=randn(N, seed=4))


# (N, K, D, t, with var)
PROTO_CASES = [
    (7, 1, 16, 0.1, False),
    (7, 5, 64, 0.5, True),
    (1500, 19, 16, 0.1, True),
    (300, 19, 128, 0.05, False),
]


@pytest.mark.parametrize('N,K,D,t,with_var', PROTO_CASES)
def test_prototype_cross_entropy_matches_reference(tiles, N, K, D, t, with_var):
    tiles(N, K)
    labels = torch.randint(0, K, (N,), generator=torch.Generator().manual_seed(N))
    labels[::5] = 255
    inputs = [randn(N, D, seed=1, norm=1), randn(K, D, seed=2, norm=1)]
    if with_var:
        inputs.append(randn(K, D, seed=3).abs() * 0.05)

    def loss(backend):
        return lambda f, mu, var=None: ops.prototype_cross_entropy(
            f, mu, labels, t, var=var, reduction='none', backend=backend)

    got = compare(loss('tiled'), loss('reference'), inputs, upstream=randn(N, seed=5))
    assert (got[0][labels == 255] == 0).all()


def test_prototype_cross_entropy_all_ignored(tiles):
    tiles(10, 3)
    f = randn(10, 16, seed=0).float().requires_grad_()
    mu = randn(3, 16, seed=1).float().requires_grad_()
    loss = ops.prototype_cross_entropy(f, mu, torch.full((10,), 255), 0.1, backend='tiled')
    loss.backward()
    assert loss.item() == 0 and torch.equal(f.grad, torch.zeros_like(f))
    assert torch.equal(mu.grad, torch.zeros_like(mu))


# -------------------------------------------------------------- gradcheck

def test_gradcheck_logsumexp(tiles):
    tiles(9, 11)
    q = randn(9, 5, seed=0).requires_grad_()
    k = randn(11, 5, seed=1).requires_grad_()
    k_mask = torch.arange(11) % 4 != 1
    self_mask = torch.arange(9) % 3 != 0
    for exclude_self in (False, True):
        assert torch.autograd.gradcheck(
            lambda a, b: tiled.logsumexp(a, b, 0.3, exclude_self, k_mask), (q, k))
        assert torch.autograd.gradcheck(
            lambda a: tiled.logsumexp(a, a, 0.3, exclude_self, self_mask), (q,))


@pytest.mark.parametrize('gamma', [2.0, 1.5, 0.5])
def test_gradcheck_propagation(tiles, gamma):
    tiles(7, 7)
    x = randn(2, 7, 5, seed=0, norm=1).requires_grad_()
    value = randn(2, 7, 3, seed=1).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, v: tiled.propagation(a, v, gamma), (x, value))


def test_gradcheck_losses_through_torch_backend(tiles):
    tiles(12, 12)
    z = randn(12, 6, seed=0).requires_grad_()
    extra = randn(5, 6, seed=1).requires_grad_()
    labels = torch.tensor([0, 1, 0, 2, 1, 255, 0, 7, 1, 255, 2, 2])
    extra_labels = torch.tensor([0, 7, 255, 3, 1])
    assert torch.autograd.gradcheck(
        lambda z, e: ops.supcon_loss(z, labels, 0.3, extra=e, extra_labels=extra_labels,
                                     backend='tiled'), (z, extra))
    mu = randn(3, 6, seed=2).requires_grad_()
    var = (randn(3, 6, seed=3).abs() * 0.1).requires_grad_()
    proto_labels = torch.tensor([0, 1, 2, 255, 1, 0, 0, 2, 255, 1, 1, 0])
    assert torch.autograd.gradcheck(
        lambda f, m, v: ops.prototype_cross_entropy(f, m, proto_labels, 0.5, var=v,
                                                    backend='tiled'), (z, mu, var))
    k_pos = randn(12, 6, seed=4).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda q, k, n: ops.info_nce(q, k, n, 0.5, backend='tiled'), (z, k_pos, extra))


# ----------------------------------------------------------------- memory

def test_no_tensor_grows_with_n_times_m(tiles):
    """Forward and backward of every op through 'torch' stay far below N x M elements."""
    N, M, D = 1500, 1200, 16
    tiles(N, M)
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(N, D, generator=gen, requires_grad=True)
    bank = torch.randn(M, D, generator=gen, requires_grad=True)
    labels = torch.randint(0, 5, (N,), generator=gen)
    runs = [
        lambda: ops.pixel_logsumexp(z, bank, backend='tiled').sum(),
        lambda: ops.supcon_loss(z, labels, extra=bank, extra_labels=labels[:M],
                                backend='tiled'),
        lambda: ops.info_nce(z, z, bank, backend='tiled'),
        lambda: ops.pixel_propagation(z[None], gamma=2.0, value=z[None], backend='tiled').sum(),
    ]
    for run in runs:
        with LargestTensor() as mode:
            run().backward()
        assert mode.numel < N * M / 5, mode.numel
