"""The public API of densecl.ops: argument checks, backend choice, layouts, dtypes."""
import importlib.util
import math

import pytest
import torch
import torch.nn.functional as F

import densecl.ops as ops
from densecl.ops import dispatch, reference, tiled


def randn(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


Q, K = randn(6, 8), randn(5, 8, seed=1)
LABELS = torch.tensor([0, 1, 0, 1, 2, 255])
X, V = randn(2, 6, 8), randn(2, 6, 3)
MU, VAR = randn(3, 8), randn(3, 8).abs()

# (call, name of the argument the message must mention)
INVALID = [
    (lambda: ops.pixel_logsumexp(Q, backend='cuda'), 'backend'),
    (lambda: ops.supcon_loss(Q, LABELS, backend=None), 'backend'),
    (lambda: ops.pixel_logsumexp(Q.long()), 'q'),
    (lambda: ops.pixel_logsumexp(Q[0]), 'q'),
    (lambda: ops.pixel_logsumexp(Q, randn(5, 7)), 'k'),
    (lambda: ops.pixel_logsumexp(Q, K.double()), 'k'),
    (lambda: ops.pixel_logsumexp(Q, K.to('meta')), 'k'),
    (lambda: ops.pixel_logsumexp(Q, K, k_mask=torch.ones(6, dtype=torch.bool)), 'k_mask'),
    (lambda: ops.pixel_logsumexp(Q, K, k_mask=torch.ones(5)), 'k_mask'),
    (lambda: ops.pixel_logsumexp(Q, temperature=0), 'temperature'),
    (lambda: ops.pixel_logsumexp(Q, temperature=-0.1), 'temperature'),
    (lambda: ops.pixel_logsumexp(Q, temperature=float('nan')), 'temperature'),
    (lambda: ops.supcon_loss(Q, LABELS[:5]), 'labels'),
    (lambda: ops.supcon_loss(Q, LABELS.float()), 'labels'),
    (lambda: ops.supcon_loss(Q, LABELS.to('meta')), 'labels'),
    (lambda: ops.supcon_loss(Q, LABELS, extra=K), 'extra_labels'),
    (lambda: ops.supcon_loss(Q, LABELS, extra_labels=LABELS[:5]), 'extra'),
    (lambda: ops.supcon_loss(Q, LABELS, extra=K, extra_labels=LABELS), 'extra_labels'),
    (lambda: ops.supcon_loss(Q, LABELS, extra=K.half(), extra_labels=LABELS[:5]), 'extra'),
    (lambda: ops.supcon_loss(Q, LABELS, extra=randn(5, 4), extra_labels=LABELS[:5]), 'extra'),
    (lambda: ops.supcon_loss(Q, LABELS, temperature=0.0), 'temperature'),
    (lambda: ops.supcon_loss(Q, LABELS, reduction='avg'), 'reduction'),
    (lambda: ops.info_nce(Q, Q[:5], K), 'k_pos'),
    (lambda: ops.info_nce(Q, Q.double(), K), 'k_pos'),
    (lambda: ops.info_nce(Q, Q, randn(5, 4)), 'negatives'),
    (lambda: ops.info_nce(Q, Q, K.to('meta')), 'negatives'),
    (lambda: ops.info_nce(Q, Q, K, temperature=-1), 'temperature'),
    (lambda: ops.info_nce(Q, Q, K, reduction=None), 'reduction'),
    (lambda: ops.pixel_propagation(X, gamma=2.0, value=V[:1]), 'value'),
    (lambda: ops.pixel_propagation(X, gamma=2.0, value=V[:, :5]), 'value'),
    (lambda: ops.pixel_propagation(X, gamma=2.0, value=V.double()), 'value'),
    (lambda: ops.pixel_propagation(X, gamma=2.0, value=randn(2, 3, 2, 3)), 'value'),
    (lambda: ops.pixel_propagation(randn(2, 8, 2, 3), gamma=2.0, value=randn(2, 3, 3, 2)), 'value'),
    (lambda: ops.pixel_propagation(X[0], gamma=2.0, value=V[0]), 'x'),
    (lambda: ops.pixel_propagation(X, gamma=0, value=V), 'gamma'),
    (lambda: ops.pixel_propagation(X, gamma=-2.0, value=V), 'gamma'),
    (lambda: ops.prototype_logits(Q, randn(3, 4), 0.1), 'mu'),
    (lambda: ops.prototype_logits(Q, MU, 0.1, var=VAR[:2]), 'var'),
    (lambda: ops.prototype_logits(Q, MU, 0), 'temperature'),
    (lambda: ops.prototype_cross_entropy(Q, MU.double(), LABELS, 0.1), 'mu'),
    (lambda: ops.prototype_cross_entropy(Q, MU, LABELS, 0.1, var=VAR.half()), 'var'),
    (lambda: ops.prototype_cross_entropy(Q, MU, LABELS[1:], 0.1), 'labels'),
    (lambda: ops.prototype_cross_entropy(Q, MU, LABELS, 0.1, reduction='max'), 'reduction'),
    (lambda: ops.prototype_cross_entropy(Q, MU, LABELS, 0.1, backend='gpu'), 'backend'),
]


@pytest.mark.parametrize('call,name', INVALID, ids=[f'{i}-{n}' for i, (_, n) in enumerate(INVALID)])
def test_invalid_arguments_raise_value_error_naming_them(call, name):
    with pytest.raises(ValueError, match=rf'\b{name}\b'):
        call()


def test_gpu_backend_needs_cuda_or_interpreter(monkeypatch):
    monkeypatch.delenv('TRITON_INTERPRET', raising=False)
    with pytest.raises(ValueError, match=r'\bbackend\b'):
        ops.pixel_logsumexp(Q, backend='triton')
    with pytest.raises(ValueError, match=r'\bbackend\b'):
        ops.pixel_propagation(X, gamma=2.0, value=V, backend='triton')


def test_auto_uses_the_tiled_backend_on_cpu(monkeypatch):
    calls = []

    def spy(name):
        original = getattr(tiled, name)

        def wrapped(*args):
            calls.append(name)
            return original(*args)

        monkeypatch.setattr(tiled, name, wrapped)

    spy('logsumexp')
    spy('propagation')
    ops.pixel_logsumexp(Q)
    ops.supcon_loss(Q, LABELS, extra=K, extra_labels=LABELS[:5])
    ops.info_nce(Q, Q, K)
    ops.prototype_cross_entropy(Q, MU, LABELS, 0.1)
    ops.pixel_propagation(X, gamma=2.0, value=V)
    assert calls == ['logsumexp'] * 5 + ['propagation']


def test_reference_backend_calls_the_naive_composites(monkeypatch):
    called = []
    for name in ('supcon_loss', 'info_nce', 'prototype_cross_entropy'):
        original = getattr(reference, name)
        monkeypatch.setattr(reference, name,
                            lambda *a, _f=original, _n=name: called.append(_n) or _f(*a))
    ops.supcon_loss(Q, LABELS, backend='reference')
    ops.info_nce(Q, Q, K, backend='reference')
    ops.prototype_cross_entropy(Q, MU, LABELS, 0.1, backend='reference')
    assert called == ['supcon_loss', 'info_nce', 'prototype_cross_entropy']


@pytest.mark.skipif(importlib.util.find_spec('triton') is None, reason='needs triton')
def test_auto_prefers_triton_for_cuda_tensors():
    assert dispatch.resolve_backend('auto', torch.device('cuda')) == 'triton'
    assert dispatch.resolve_backend('auto', torch.device('cpu')) == 'tiled'


@pytest.mark.parametrize('backend', ['tiled', 'reference'])
def test_supcon_with_distinct_labels_is_info_nce(backend):
    """One positive per anchor (its other view in ``extra``): SupCon is InfoNCE whose
    negatives are every other pixel of both views."""
    n, t = 9, 0.2
    q = F.normalize(randn(n, 16, seed=2, dtype=torch.float64), dim=1)
    k = F.normalize(randn(n, 16, seed=3, dtype=torch.float64), dim=1)
    labels = torch.arange(100, 100 + n) * 7       # distinct, sparse
    loss = ops.supcon_loss(q, labels, t, extra=k, extra_labels=labels, reduction='none',
                           backend=backend)
    expected = []
    for i in range(n):
        pos = math.exp(q[i].dot(k[i]).item() / t)
        neg = sum(math.exp(q[i].dot(q[j]).item() / t) for j in range(n) if j != i)
        neg += sum(math.exp(q[i].dot(k[j]).item() / t) for j in range(n) if j != i)
        expected.append(-math.log(pos / (pos + neg)))
    assert loss.tolist() == pytest.approx(expected, rel=1e-10)
    # Without the second view nobody has a positive: the loss is 0.
    assert ops.supcon_loss(q, labels, t, backend=backend).item() == 0


def test_reductions():
    z = randn(30, 8, seed=4)
    labels = torch.randint(0, 4, (30,), generator=torch.Generator().manual_seed(0))
    labels[:5] = 255
    labels[5] = 9                                  # no positive
    rows = ops.supcon_loss(z, labels, reduction='none')
    assert rows.shape == (30,) and (rows[:6] == 0).all() and (rows[6:] > 0).all()
    assert ops.supcon_loss(z, labels, reduction='sum').item() == pytest.approx(rows.sum().item())
    assert ops.supcon_loss(z, labels).item() == pytest.approx(rows.sum().item() / 24)
    rows = ops.prototype_cross_entropy(z, MU, labels.clamp_max(2).masked_fill(labels == 255, 255),
                                       0.1, reduction='none')
    assert rows.shape == (30,) and (rows[:5] == 0).all()
    assert ops.prototype_cross_entropy(z, MU, labels.clamp_max(2).masked_fill(labels == 255, 255),
                                       0.1).item() == pytest.approx(rows.sum().item() / 25)
    rows = ops.info_nce(z, z.flip(0), K, reduction='none')
    assert rows.shape == (30,)
    assert ops.info_nce(z, z.flip(0), K).item() == pytest.approx(rows.mean().item())


def test_pixel_logsumexp_self_contrast():
    lse = ops.pixel_logsumexp(Q, temperature=0.3)
    expected = reference.logsumexp(Q.double(), Q.double(), 0.3, True, None)
    torch.testing.assert_close(lse, expected.float())
    assert torch.equal(ops.pixel_logsumexp(Q, Q, 0.3), lse)


def test_pixel_propagation_layouts_and_normalisation():
    maps, values = randn(2, 8, 3, 4, seed=5), randn(2, 5, 3, 4, seed=6)
    y = ops.pixel_propagation(maps, gamma=2.0, value=values)
    assert y.shape == (2, 5, 3, 4)
    seq = ops.pixel_propagation(maps.flatten(2).transpose(1, 2), gamma=2.0, value=values.flatten(2).transpose(1, 2))
    torch.testing.assert_close(y.flatten(2).transpose(1, 2), seq)
    # x is normalised inside: its scale does not matter.
    torch.testing.assert_close(ops.pixel_propagation(maps * 7, gamma=2.0, value=values), y)
    x = F.normalize(maps.flatten(2).transpose(1, 2).double(), dim=-1)
    expected = reference.propagation(x, values.flatten(2).transpose(1, 2).double(), 2.0)
    torch.testing.assert_close(seq, expected.float())


def test_prototype_logits_match_reference():
    for var in (None, VAR):
        got = ops.prototype_logits(Q, MU, 0.1, var=var)
        want = reference.prototype_logits(Q.double(), MU.double(), 0.1,
                                          None if var is None else var.double())
        torch.testing.assert_close(got, want.float())


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_inputs_give_float32_outputs(dtype):
    q, k = F.normalize(Q, dim=1).to(dtype), F.normalize(K, dim=1).to(dtype)
    x, v = X.to(dtype), V.to(dtype)
    outputs = [
        ops.pixel_logsumexp(q, k),
        ops.supcon_loss(q, LABELS, extra=k, extra_labels=LABELS[:5]),
        ops.info_nce(q, q, k),
        ops.pixel_propagation(x, gamma=2.0, value=v),
        ops.prototype_logits(q, MU.to(dtype), 0.1, var=VAR.to(dtype)),
        ops.prototype_cross_entropy(q, MU.to(dtype), LABELS, 0.1, var=VAR.to(dtype)),
    ]
    for out in outputs:
        assert out.dtype == torch.float32 and torch.isfinite(out).all()
    # An all-zero pixel stays finite (F.normalize's default eps underflows in fp16).
    x[0, 0] = 0
    assert torch.isfinite(ops.pixel_propagation(x, gamma=2.0, value=v)).all()


def test_float64_stays_float64():
    q, k = Q.double(), K.double()
    assert ops.pixel_logsumexp(q, k).dtype == torch.float64
    assert ops.supcon_loss(q, LABELS).dtype == torch.float64
    assert ops.info_nce(q, q, k).dtype == torch.float64
    assert ops.pixel_propagation(X.double(), gamma=2.0, value=V.double()).dtype == torch.float64
    assert ops.prototype_cross_entropy(q, MU.double(), LABELS, 0.1).dtype == torch.float64
