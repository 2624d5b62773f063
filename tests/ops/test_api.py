"""The public API of densecl.ops: argument checks, backend choice, layouts, dtypes."""
import importlib.util
import logging
import math

import pytest
import torch
import torch.nn.functional as F

import densecl.ops as ops
from densecl.ops import dispatch, reference, tiled
from ops_testing import TRITON_DEVICE, assert_close, value_and_grads


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


CUDA = torch.device('cuda')
needs_triton = pytest.mark.skipif(importlib.util.find_spec('triton') is None,
                                  reason='needs triton')


@needs_triton
def test_auto_prefers_triton_for_cuda_tensors():
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        assert dispatch.resolve_backend('auto', CUDA, dtype, (256,)) == 'triton'
    assert dispatch.resolve_backend('auto', torch.device('cpu'), torch.float32, (8,)) == 'tiled'


# (dtype, feature dims the kernel would see, what the reason mentions)
TRITON_UNSUPPORTED = [
    (torch.float64, (16,), 'float64'),
    (torch.float32, (257,), '256'),
    (torch.bfloat16, (64, 512), '256'),       # propagation: value dims count too
]


@needs_triton
@pytest.mark.parametrize('dtype,dims,reason', TRITON_UNSUPPORTED)
def test_auto_falls_back_to_tiled_where_triton_cannot_run(caplog, dtype, dims, reason):
    with caplog.at_level(logging.DEBUG, logger=dispatch.__name__):
        assert dispatch.resolve_backend('auto', CUDA, dtype, dims) == 'tiled'
    assert len(caplog.records) == 1 and reason in caplog.records[0].getMessage()
    with pytest.raises(ValueError, match=rf"backend='triton'.*{reason}"):
        dispatch.resolve_backend('triton', CUDA, dtype, dims)


@needs_triton
def test_explicit_triton_refuses_what_its_kernels_cannot_compute():
    """float64 would come back float32; prototype CE with var doubles D (2 x 200 > 256)."""
    device = 'cuda' if torch.cuda.is_available() else 'cpu'   # cpu: the interpreter
    q, x, v = Q.to(device), X.to(device), V.to(device)
    with pytest.raises(ValueError, match='float64'):
        ops.pixel_logsumexp(q.double(), backend='triton')
    with pytest.raises(ValueError, match='float64'):
        ops.pixel_propagation(x.double(), v.double(), backend='triton')
    f, mu, labels = randn(6, 200).to(device), randn(3, 200, seed=1).to(device), LABELS.to(device)
    with pytest.raises(ValueError, match='feature dims up to 256, got 400'):
        ops.prototype_cross_entropy(f, mu, labels, 0.1, var=mu.abs(), backend='triton')
    # Without var the primitive sees D = 200, which the kernels support.
    assert torch.isfinite(ops.prototype_cross_entropy(f, mu, labels, 0.1, backend='triton'))
    if device == 'cpu':
        with pytest.raises(ValueError, match='interpreter'):
            ops.pixel_logsumexp(q.half(), backend='triton')


@pytest.mark.parametrize('backend', ['tiled', 'reference', 'triton'])
@pytest.mark.parametrize('label', [-1, 3, 7])
def test_prototype_cross_entropy_rejects_labels_outside_the_prototypes(backend, label):
    if backend == 'triton' and importlib.util.find_spec('triton') is None:
        pytest.skip('needs triton')
    labels = LABELS.clone()
    labels[2] = label
    with pytest.raises(ValueError, match=rf'labels must be in \[0, 3\).*255.*got {label}'):
        ops.prototype_cross_entropy(Q, MU, labels, 0.1, backend=backend)


def test_pixel_logsumexp_separate_keys_keep_every_key():
    """200 queries against 333 independent keys: the plain log-sum-exp, key i included."""
    q, k = F.normalize(randn(200, 16, seed=8), dim=1), F.normalize(randn(333, 16, seed=9), dim=1)
    expected = torch.logsumexp(q.double() @ k.double().t() / 0.1, 1)
    torch.testing.assert_close(ops.pixel_logsumexp(q, k, 0.1), expected.float())
    # Two aligned views say so: key i is the same pixel as query i.
    aligned = ops.pixel_logsumexp(q, k[:200], 0.1, exclude_self=True)
    logits = (q.double() @ k[:200].double().t() / 0.1).fill_diagonal_(float('-inf'))
    torch.testing.assert_close(aligned, torch.logsumexp(logits, 1).float())


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
    assert torch.equal(ops.pixel_logsumexp(Q, Q, 0.3, exclude_self=True), lse)


def test_pixel_propagation_layouts_and_normalisation():
    maps, values = randn(2, 8, 3, 4, seed=5), randn(2, 5, 3, 4, seed=6)
    y = ops.pixel_propagation(maps, gamma=2.0, value=values)
    assert y.shape == (2, 5, 3, 4)
    seq = ops.pixel_propagation(maps.flatten(2).transpose(1, 2),
                                values.flatten(2).transpose(1, 2), gamma=2.0)
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


def test_pixel_propagation_tiny_pixels_keep_similarities_at_most_one():
    """A pixel of 1e-30 entries counts as (almost) zero, not as a vector of norm 1e8."""
    x = randn(1, 6, 8, seed=10).requires_grad_()
    value = torch.ones(1, 6, 1)
    with torch.no_grad():
        x[0, 0] = 1e-30
    y = ops.pixel_propagation(x, value, gamma=2.0, backend='tiled')
    # |s_ij| <= 1 and value 1: every output is at most the number of pixels.
    assert y.abs().max() <= 6
    y.sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_pixel_propagation_normalises_small_half_pixels(dtype):
    """Pixels of norm ~3e-5 (below float16's smallest normal) are normalised to 1, not
    treated as zero: the scale of x must not matter."""
    x, value = randn(1, 6, 8, seed=11), randn(1, 6, 3, seed=12)
    small = (x * 1e-5).to(dtype)
    expected = reference.propagation(F.normalize(small.double(), dim=-1), value.double(), 2.0)
    got = ops.pixel_propagation(small, value.to(dtype), gamma=2.0, backend='tiled')
    torch.testing.assert_close(got, expected.float(), rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize('backend', ['reference', 'tiled'])
def test_ignored_rows_holding_nan_do_not_contribute(backend):
    """The documented contract: ignored rows are not anchors and not in any denominator,
    whatever they hold."""
    z, extra = randn(6, 8, seed=13), randn(5, 8, seed=14)
    extra_labels = torch.tensor([0, 1, 255, 2, 1])
    clean = ops.supcon_loss(z, LABELS, extra=extra, extra_labels=extra_labels,
                            reduction='none', backend=backend)
    z_nan, extra_nan = z.clone().requires_grad_(), extra.clone().requires_grad_()
    with torch.no_grad():
        z_nan[LABELS == 255] = float('nan')
        extra_nan[extra_labels == 255] = float('nan')
    loss = ops.supcon_loss(z_nan, LABELS, extra=extra_nan, extra_labels=extra_labels,
                           reduction='none', backend=backend)
    torch.testing.assert_close(loss, clean)
    loss.sum().backward()
    assert torch.isfinite(z_nan.grad).all() and torch.isfinite(extra_nan.grad).all()

    f = z.clone()
    f[LABELS == 255] = float('nan')
    f.requires_grad_()
    for var in (None, VAR):
        loss = ops.prototype_cross_entropy(f, MU, LABELS, 0.1, var=var, reduction='none',
                                           backend=backend)
        clean = ops.prototype_cross_entropy(z, MU, LABELS, 0.1, var=var, reduction='none',
                                            backend=backend)
        torch.testing.assert_close(loss, clean)
        loss.sum().backward()
        assert torch.isfinite(f.grad).all()


FUSED_BACKENDS = ['tiled', 'auto', pytest.param('triton', marks=needs_triton)]


@pytest.mark.parametrize('poison', [float('nan'), float('inf')])
@pytest.mark.parametrize('backend', FUSED_BACKENDS)
def test_pixel_logsumexp_keys_left_out_by_k_mask_are_absent_whatever_they_hold(
        tiles, backend, poison):
    """Values and gradients are those of the reference without the masked keys, which
    get a zero gradient."""
    tiles(7, 9)
    device = TRITON_DEVICE if backend == 'triton' else 'cpu'
    q, k = randn(7, 8, seed=15), randn(9, 8, seed=16)
    k_mask = torch.arange(9) % 3 != 1
    upstream = randn(7, seed=17)
    want = value_and_grads(lambda a, b: reference.logsumexp(a, b, 0.5, False, None),
                           [q, k[k_mask]], torch.float64, upstream)
    got = value_and_grads(
        lambda a, b: ops.pixel_logsumexp(a, b, 0.5, k_mask=k_mask.to(device), backend=backend),
        [q, k.masked_fill(~k_mask[:, None], poison)], torch.float32, upstream, device)
    assert_close(got[0], want[0])
    assert_close(got[1], want[1])
    assert_close(got[2][k_mask], want[2])
    assert (got[2][~k_mask] == 0).all()


@pytest.mark.parametrize('poison', [float('nan'), float('inf')])
@pytest.mark.parametrize('backend', FUSED_BACKENDS)
def test_pixel_logsumexp_self_contrast_masked_pixels_are_absent_whatever_they_hold(
        tiles, backend, poison):
    """With k=None a masked pixel is still a query (its own row is not finite) but no key:
    the other rows and their gradients are the reference's on the unmasked pixels, and a
    masked pixel whose row is not used gets a zero gradient."""
    tiles(9, 9)
    device = TRITON_DEVICE if backend == 'triton' else 'cpu'
    x = randn(9, 8, seed=18)
    k_mask = torch.arange(9) % 3 != 1
    upstream = randn(9, seed=19).masked_fill(~k_mask, 0)
    want = value_and_grads(lambda a: reference.logsumexp(a, a, 0.5, True, None),
                           [x[k_mask]], torch.float64, upstream[k_mask])
    got = value_and_grads(
        lambda a: ops.pixel_logsumexp(a, temperature=0.5, k_mask=k_mask.to(device),
                                      backend=backend),
        [x.masked_fill(~k_mask[:, None], poison)], torch.float32, upstream, device)
    assert_close(got[0][k_mask], want[0])
    assert_close(got[1][k_mask], want[1])
    assert (got[1][~k_mask] == 0).all()


# name: call(z, labels, backend) of a loss whose key set is z's rows or a bank split off z.
IGNORING_LOSSES = {
    'pixel_contrast_loss': lambda z, labels, backend: ops.pixel_contrast_loss(
        z[:8], labels[:8], extra=z[8:], extra_labels=labels[8:], reduction='none',
        backend=backend),
    'prototype_contrast_loss': lambda z, labels, backend: ops.prototype_contrast_loss(
        z[:8], labels[:8], MU.to(z.dtype), keys=z[8:], key_labels=labels[8:],
        reduction='none', backend=backend),
    'centroid_bank_loss': lambda z, labels, backend: ops.centroid_bank_loss(
        z[:8], labels[:8], z[8:], labels[8:], 0.5, reduction='none', backend=backend),
}


@pytest.mark.parametrize('name', list(IGNORING_LOSSES))
def test_tiled_losses_ignore_rows_holding_nan_or_inf(tiles, name):
    """Ignored anchors and keys add nothing whatever they hold: the reference on the same
    data with finite ignored rows gives the same values and gradients."""
    tiles(8, 8)
    labels = torch.tensor([0, 1, 255, 2, 1, 0, 255, 2, 2, 255, 0, 1, 255, 1, 0, 2])
    z = randn(16, 8, seed=20)
    ignored = (labels == 255)[:, None]
    poisoned = z.masked_fill(ignored, float('nan'))
    poisoned[12] = float('inf')
    call = IGNORING_LOSSES[name]
    got = value_and_grads(lambda a: call(a, labels, 'tiled'), [poisoned], torch.float32)
    want = value_and_grads(lambda a: call(a, labels, 'reference'), [z], torch.float64)
    assert_close(got[0], want[0])
    assert_close(got[1], want[1])
    assert (got[1][labels == 255] == 0).all()
