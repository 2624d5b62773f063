"""ContrastiveSeg's pixel contrast: the label-aware primitives and pixel_contrast_loss.

Every fused path (tiled, triton) is compared with the dense oracle in
densecl.ops.reference on value and gradient; the oracle itself is checked
against a case worked out by hand. Tiles are shrunk as in test_tiled.py so
that every case spans several ragged tiles; the Triton kernels run in the
interpreter without a GPU (fp32, small sizes).
"""
import math
import os

import pytest
import torch
from ops_testing import LargestTensor, assert_close, compare, labels_with, randn

import densecl.ops as ops
from densecl.ops import reference, tiled

NEG_INF = float('-inf')


def class_labels(n, num_classes, seed):
    """Labels in [0, num_classes) plus a class that only row 2 has."""
    labels = torch.randint(0, num_classes, (n,), generator=torch.Generator().manual_seed(seed))
    if n > 2:
        labels[2] = num_classes      # a class with one row
    return labels


def offsets(n, seed):
    """Per-row offsets around the size of a log-sum-exp, with a few -inf (no negatives)."""
    offset = 3 * randn(n, seed=seed)
    offset[::5] = NEG_INF
    return offset


# ----------------------------------------------------- label-aware logsumexp

# (N, M, D, temperature, exclude_self, masked, self_contrast, classes)
LSE_CASES = [
    (1, 1, 16, 0.1, False, False, False, 1),        # only key has the row's label: empty
    (7, 7, 16, 0.05, True, True, True, 2),
    (7, 300, 64, 0.2, False, True, False, 3),
    (300, 300, 128, 1.0, True, False, True, 5),
    (300, 1500, 16, 0.5, False, True, False, 19),
    (1500, 1500, 16, 0.1, True, False, True, 4),
]


@pytest.mark.parametrize('N,M,D,t,exclude_self,masked,same,classes', LSE_CASES)
def test_label_logsumexp_matches_reference(tiles, N, M, D, t, exclude_self, masked, same,
                                           classes):
    tiles(N, M)
    q, k = randn(N, D, seed=N + D, norm=1), randn(M, D, seed=M * D, norm=1)
    q_labels = class_labels(N, classes, seed=N)
    k_labels = q_labels if same else class_labels(M, classes, seed=M + 1)
    k_mask = torch.rand(M, generator=torch.Generator().manual_seed(M)) > 0.3 if masked else None
    upstream = randn(N, seed=7)

    def call(module):
        if same:
            return lambda x: module.logsumexp(x, x, t, exclude_self, k_mask, q_labels, k_labels)
        return lambda a, b: module.logsumexp(a, b, t, exclude_self, k_mask, q_labels, k_labels)

    got = compare(call(tiled), call(reference), [q] if same else [q, k], upstream=upstream)
    # A key of the row's own label never counts: the unlabelled value differs.
    unlabelled = reference.logsumexp(q, q if same else k, t, exclude_self, k_mask)
    assert not torch.allclose(got[0].double(), unlabelled)


def test_label_logsumexp_rows_without_other_labels(tiles):
    tiles(40, 37)
    q = randn(40, 16, seed=0).float().requires_grad_()
    k = randn(37, 16, seed=1).float().requires_grad_()
    q_labels = torch.arange(40) % 3
    k_labels = torch.full((37,), 1)
    lse = tiled.logsumexp(q, k, 0.1, False, None, q_labels, k_labels)
    empty = q_labels == 1
    assert torch.equal(torch.isneginf(lse), empty)
    lse.backward(torch.ones_like(lse))
    assert torch.equal(q.grad[empty], torch.zeros_like(q.grad[empty]))
    assert torch.isfinite(q.grad).all() and torch.isfinite(k.grad).all()


# ------------------------------------------------------- positive_softplus

# (N, M, D, temperature, exclude_self, self_contrast, classes, norm)
POSITIVE_CASES = [
    (1, 1, 16, 0.1, True, True, 1, 1),              # the only positive is the row itself
    (7, 7, 16, 0.05, True, True, 2, 1),
    (7, 300, 64, 0.2, False, False, 3, 1),
    (300, 300, 128, 1.0, False, True, 5, 1),        # self-pairs included
    (300, 1500, 16, 0.5, False, False, 19, 1),
    (1500, 1500, 16, 0.1, True, True, 4, 1),
    (300, 70, 64, 0.07, False, False, 3, 100),      # unnormalised, margins up to 1e5
]


@pytest.mark.parametrize('N,M,D,t,exclude_self,same,classes,norm', POSITIVE_CASES)
def test_positive_softplus_matches_reference(tiles, N, M, D, t, exclude_self, same, classes,
                                             norm):
    tiles(N, M)
    q, k = randn(N, D, seed=N + D, norm=norm), randn(M, D, seed=M * D, norm=norm)
    q_labels = class_labels(N, classes, seed=N)
    k_labels = q_labels if same else class_labels(M, classes, seed=M + 1)
    upstream = randn(N, seed=7)

    def call(module):
        if same:
            return lambda x, o: module.positive_softplus(x, x, o, t, exclude_self, q_labels,
                                                         k_labels)
        return lambda a, b, o: module.positive_softplus(a, b, o, t, exclude_self, q_labels,
                                                        k_labels)

    inputs = [q, offsets(N, seed=N)] if same else [q, k, offsets(N, seed=N)]
    got = compare(call(tiled), call(reference), inputs, rtol=1e-4 if norm == 1 else 1e-3,
                  upstream=upstream)
    assert got[0].shape == (N,) and all(torch.isfinite(g).all() for g in got)


def test_positive_softplus_neg_inf_offset_is_zero_with_zero_grad(tiles):
    tiles(20, 9)
    q = randn(20, 16, seed=0).float().requires_grad_()
    k = randn(9, 16, seed=1).float().requires_grad_()
    offset = torch.full((20,), NEG_INF, requires_grad=True)
    labels = torch.arange(20) % 2
    out = tiled.positive_softplus(q, k, offset, 0.1, False, labels, labels[:9])
    out.backward(torch.ones_like(out))
    assert torch.equal(out, torch.zeros_like(out))
    for grad in (q.grad, k.grad, offset.grad):
        assert torch.equal(grad, torch.zeros_like(grad))


# ------------------------------------------------------------------- loss

def test_pixel_contrast_by_hand():
    """Four 2-D pixels, labels [0, 0, 0, 1] plus an ignored copy of pixel 2.

    Dots: z0.z1 = 0.6, z0.z2 = 0, z0.z3 = -0.6, z1.z2 = 0.8, z1.z3 = 0.28,
    z2.z3 = 0.8; t = 0.5 gives s01 = 1.2, s02 = 0, s03 = -1.2, s12 = 1.6,
    s13 = 0.56, s23 = 1.6. Class 0 has the single negative z3, so each term is
    softplus(s_i3 - s_ip) = log(1 + e^(s_i3 - s_ip)); the scale
    t / base_t = 2 cancels the mean over the two positives:
      L0 = sp(-1.2 - 1.2) + sp(-1.2 - 0)   = 0.086836 + 0.263282 = 0.350119
      L1 = sp(0.56 - 1.2) + sp(0.56 - 1.6) = 0.423497 + 0.302660 = 0.726157
      L2 = sp(1.6 - 0)    + sp(1.6 - 1.6)  = 1.783901 + 0.693147 = 2.477048
      L3 = 0 (no positive), mean = (L0 + L1 + L2) / 3 = 1.184441.
    SupCon's L_out would put the other positive into each denominator too.
    """
    z = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-0.6, 0.8], [0.0, 1.0]],
                     dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1, 255])

    def sp(x):
        return math.log1p(math.exp(x))

    expected = [sp(-2.4) + sp(-1.2), sp(-0.64) + sp(-1.04), sp(1.6) + math.log(2), 0.0, 0.0]
    assert expected[:3] == pytest.approx([0.350119, 0.726157, 2.477048], abs=1e-6)
    backends = ['reference', 'tiled'] + (['triton'] if triton_runs() else [])
    for backend in backends:
        # Triton is fp32 only under the interpreter.
        dtype = torch.float32 if backend == 'triton' else torch.float64
        inputs = (z.to(DEVICE, dtype), labels.to(DEVICE))
        kwargs = dict(temperature=0.5, base_temperature=0.25, backend=backend)
        none = ops.pixel_contrast_loss(*inputs, reduction='none', **kwargs)
        assert none.tolist() == pytest.approx(expected, rel=1e-6, abs=1e-7), backend
        mean = ops.pixel_contrast_loss(*inputs, **kwargs)
        assert mean.item() == pytest.approx(1.184441, abs=1e-6), backend
        total = ops.pixel_contrast_loss(*inputs, reduction='sum', **kwargs)
        assert total.item() == pytest.approx(sum(expected), rel=1e-6), backend
    supcon = ops.supcon_loss(z, labels, 0.5, backend='reference', reduction='none')
    assert supcon[0].item() != pytest.approx(expected[0] / 2, rel=1e-3)


# (N, D, t, base_t, classes, norm, extra M, label offset)
LOSS_CASES = [
    (7, 16, 0.1, 0.07, 2, 1, 0, 0),
    (7, 64, 0.5, 0.5, 3, 1, 5, 0),
    (300, 128, 0.05, 0.07, 5, 1, 0, 0),
    (300, 16, 1.0, 0.07, 19, 1, 200, 1000),    # sparse labels, bank
    (1500, 16, 0.1, 0.07, 8, 1, 300, 0),
    (300, 64, 0.07, 0.1, 4, 100, 40, 0),       # unnormalised, norm 100
]


@pytest.mark.parametrize('N,D,t,base_t,classes,norm,M,offset', LOSS_CASES)
def test_pixel_contrast_matches_reference(tiles, N, D, t, base_t, classes, norm, M, offset):
    tiles(N, N)
    z = randn(N, D, seed=N + D, norm=norm)
    labels = labels_with(N, classes, seed=N, offset=offset)
    inputs, extra_labels = [z], None
    if M:
        inputs.append(randn(M, D, seed=M, norm=norm))
        extra_labels = labels_with(M, classes + 1, seed=M, offset=offset)

    def loss(backend, reduction='none'):
        return lambda z, extra=None: ops.pixel_contrast_loss(
            z, labels, t, base_t, extra=extra, extra_labels=extra_labels, reduction=reduction,
            backend=backend)

    rtol = 1e-4 if norm == 1 else 1e-3
    got = compare(loss('tiled'), loss('reference'), inputs, rtol=rtol,
                  upstream=randn(N, seed=2))
    assert (got[0][labels == 255] == 0).all()
    for reduction in ('mean', 'sum'):
        compare(loss('tiled', reduction), loss('reference', reduction), inputs, rtol=rtol)


@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
def test_pixel_contrast_without_terms_is_zero_with_zero_grad(tiles, reduction):
    """All ignored, no positives, or no negatives (one class: -log(e^s / e^s) = 0)."""
    tiles(20, 20)
    for labels, extra_labels in [(torch.full((20,), 255), None),
                                 (torch.full((20,), 255), torch.tensor([1, 2, 255])),
                                 (torch.arange(20), None),               # no positives
                                 (torch.full((20,), 3), None),           # no negatives
                                 (torch.full((20,), 3), torch.tensor([3, 255, 3]))]:
        z = randn(20, 16, seed=0).float().requires_grad_()
        extra = None if extra_labels is None else randn(3, 16, seed=1).float().requires_grad_()
        loss = ops.pixel_contrast_loss(z, labels, extra=extra, extra_labels=extra_labels,
                                       reduction=reduction, backend='tiled')
        loss.sum().backward()
        assert torch.equal(loss, torch.zeros_like(loss))
        assert torch.equal(z.grad, torch.zeros_like(z))
        if extra is not None:
            assert torch.equal(extra.grad, torch.zeros_like(extra))


@pytest.mark.parametrize('extra_labels', [torch.tensor([3, 1, 1, 255, 3, 0]),   # pos + neg
                                          torch.tensor([3, 3, 255, 3, 3, 3]),   # positives only
                                          torch.tensor([1, 0, 255, 2, 1, 4])])  # negatives only
def test_pixel_contrast_terms_only_in_bank(tiles, extra_labels):
    """Anchors whose positives or negatives (or both) all come from the extra set."""
    tiles(6, 6)
    z, extra = randn(6, 16, seed=0, norm=1), randn(6, 16, seed=1, norm=1)
    labels = torch.tensor([255, 3, 3, 255, 5, 255])
    compare(lambda z, e: ops.pixel_contrast_loss(z, labels, extra=e, extra_labels=extra_labels,
                                                 reduction='none', backend='tiled'),
            lambda z, e: reference.pixel_contrast_loss(z, labels, 0.1, 0.07, 255, e,
                                                       extra_labels, 'none'),
            [z, extra], upstream=randn(6, seed=3))


# (call, name of the argument the message must mention)
Z, LABELS, BANK = randn(6, 8, seed=0).float(), torch.tensor([0, 1, 0, 1, 2, 255]), randn(5, 8,
                                                                                         seed=1)
INVALID = [
    (lambda: ops.pixel_contrast_loss(Z.long(), LABELS), 'z'),
    (lambda: ops.pixel_contrast_loss(Z[0], LABELS), 'z'),
    (lambda: ops.pixel_contrast_loss(Z, LABELS[:5]), 'labels'),
    (lambda: ops.pixel_contrast_loss(Z, LABELS.float()), 'labels'),
    (lambda: ops.pixel_contrast_loss(Z, LABELS.to('meta')), 'labels'),
    (lambda: ops.pixel_contrast_loss(Z, LABELS, extra=BANK.float()), 'extra_labels'),
    (lambda: ops.pixel_contrast_loss(Z, LABELS, extra_labels=LABELS[:5]), 'extra'),
    (lambda: ops.pixel_contrast_loss(Z, LABELS, extra=BANK, extra_labels=LABELS[:5]), 'extra'),
    (lambda: ops.pixel_contrast_loss(Z, LABELS, extra=BANK[:, :4].float(),
                                     extra_labels=LABELS[:5]), 'extra'),
    (lambda: ops.pixel_contrast_loss(Z, LABELS, extra=BANK.float(), extra_labels=LABELS),
     'extra_labels'),
    (lambda: ops.pixel_contrast_loss(Z, LABELS, temperature=0), 'temperature'),
    (lambda: ops.pixel_contrast_loss(Z, LABELS, base_temperature=-0.07), 'base_temperature'),
    (lambda: ops.pixel_contrast_loss(Z, LABELS, reduction='avg'), 'reduction'),
    (lambda: ops.pixel_contrast_loss(Z, LABELS, backend='cuda'), 'backend'),
]


@pytest.mark.parametrize('call,name', INVALID)
def test_pixel_contrast_invalid_arguments(call, name):
    with pytest.raises(ValueError, match=rf'\b{name}\b'):
        call()


def test_pixel_contrast_auto_is_tiled_on_cpu():
    z = randn(50, 16, seed=0, norm=1).float()
    labels = labels_with(50, 4, seed=0)
    assert torch.equal(ops.pixel_contrast_loss(z, labels),
                       ops.pixel_contrast_loss(z, labels, backend='tiled'))


# -------------------------------------------------------------- gradcheck

def test_gradcheck_label_primitives(tiles):
    tiles(9, 11)
    q = randn(9, 5, seed=0).requires_grad_()
    k = randn(11, 5, seed=1).requires_grad_()
    offset = offsets(9, seed=2).requires_grad_()
    q_labels, k_labels = torch.arange(9) % 3, torch.arange(11) % 4
    k_mask = torch.arange(11) % 5 != 1
    for exclude_self in (False, True):
        assert torch.autograd.gradcheck(
            lambda a, b: tiled.logsumexp(a, b, 0.3, exclude_self, k_mask, q_labels, k_labels),
            (q, k))
        assert torch.autograd.gradcheck(
            lambda a: tiled.logsumexp(a, a, 0.3, exclude_self, None, q_labels, q_labels), (q,))
        assert torch.autograd.gradcheck(
            lambda a, b, o: tiled.positive_softplus(a, b, o, 0.3, exclude_self, q_labels,
                                                    k_labels), (q, k, offset))
        assert torch.autograd.gradcheck(
            lambda a, o: tiled.positive_softplus(a, a, o, 0.3, exclude_self, q_labels,
                                                 q_labels), (q, offset))


def test_gradcheck_pixel_contrast_loss(tiles):
    tiles(12, 12)
    z = randn(12, 6, seed=0).requires_grad_()
    extra = randn(5, 6, seed=1).requires_grad_()
    labels = torch.tensor([0, 1, 0, 2, 1, 255, 0, 7, 1, 255, 2, 2])
    extra_labels = torch.tensor([0, 7, 255, 3, 1])
    assert torch.autograd.gradcheck(
        lambda z, e: ops.pixel_contrast_loss(z, labels, 0.3, 0.2, extra=e,
                                             extra_labels=extra_labels, backend='tiled'),
        (z, extra))


# ----------------------------------------------------------------- memory

def test_tiled_pixel_contrast_never_allocates_n_by_m(tiles):
    N, M, D = 1500, 1200, 16
    tiles(N, M)
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(N, D, generator=gen, requires_grad=True)
    bank = torch.randn(M, D, generator=gen, requires_grad=True)
    labels = torch.randint(0, 5, (N,), generator=gen)
    with LargestTensor() as mode:
        ops.pixel_contrast_loss(z, labels, extra=bank, extra_labels=labels[:M],
                                backend='tiled').backward()
    assert mode.numel < N * M / 5, mode.numel


# ----------------------------------------------------------------- triton

def triton_runs():
    """Whether the Triton backend can run here (a GPU, or the interpreter with triton)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available() or os.environ.get('TRITON_INTERPRET') == '1'


needs_triton = pytest.mark.skipif(not triton_runs(), reason='needs triton (GPU or interpreter)')
DEVICE = 'cuda' if torch.cuda.is_available() else 'cpu'


def on_device(fn):
    """``fn`` on copies of its inputs on DEVICE, with the result back on the CPU."""

    def run(*inputs):
        return fn(*[x.to(DEVICE) for x in inputs]).cpu()

    return run


# (N, M, D, temperature, exclude_self, self_contrast, masked)
TRITON_CASES = [
    (1, 1, 16, 0.1, True, True, False),
    (17, 40, 40, 0.2, False, False, True),
    (100, 33, 64, 0.07, False, False, False),
    (100, 100, 16, 0.5, True, True, True),
    (45, 300, 16, 0.1, True, False, True),         # exclude_self with M != N
    (300, 120, 64, 1.0, False, False, False),
]


def triton_vs_reference(name, tensors, same, scalars, q_labels, k_labels, upstream):
    """Triton ``name`` (fp32, on DEVICE) against reference ``name`` (fp64): value and grads.

    ``tensors`` are q, k unless ``same`` (then k is q), and any further tensor
    arguments (offset); ``scalars`` follow them, then the labels.
    """
    from densecl.ops import triton as triton_ops

    def call(fn, labels):
        def run(q, *rest):
            k, rest = (q, rest) if same else (rest[0], rest[1:])
            return fn(q, k, *rest, *scalars, *labels)
        return run

    # One device copy when q and k share their labels, so that the fused self path runs.
    q_dev = q_labels.to(DEVICE)
    device_labels = (q_dev, q_dev if k_labels is q_labels else k_labels.to(DEVICE))
    return compare(on_device(call(getattr(triton_ops, name), device_labels)),
                   call(getattr(reference, name), (q_labels, k_labels)), tensors,
                   upstream=upstream)


@needs_triton
@pytest.mark.parametrize('N,M,D,t,exclude_self,same,masked', TRITON_CASES)
def test_triton_label_primitives_match_reference(N, M, D, t, exclude_self, same, masked):
    q, k = randn(N, D, seed=N + D, norm=1), randn(M, D, seed=M * D, norm=1)
    q_labels = class_labels(N, 4, seed=N)
    k_labels = q_labels if same else class_labels(M, 4, seed=M + 1)
    keys = [q] if same else [q, k]
    k_mask = torch.rand(M, generator=torch.Generator().manual_seed(M)) > 0.3 if masked else None
    upstream = randn(N, seed=7)
    triton_vs_reference('logsumexp', keys, same, (t, exclude_self, k_mask), q_labels, k_labels,
                        upstream)
    got = triton_vs_reference('positive_softplus', keys + [offsets(N, seed=N)], same,
                              (t, exclude_self), q_labels, k_labels, upstream)
    assert all(torch.isfinite(g).all() for g in got)


@needs_triton
@pytest.mark.parametrize('name', ['logsumexp', 'positive_softplus'])
def test_triton_self_contrast_with_two_label_tensors(name):
    """q is k but the labels are two tensors: the split (not fused) backward, summed in q."""
    x, labels = randn(50, 16, seed=0, norm=1), class_labels(50, 3, seed=0)
    scalars = (0.2, True, None) if name == 'logsumexp' else (0.2, True)
    tensors = [x] if name == 'logsumexp' else [x, offsets(50, seed=1)]
    triton_vs_reference(name, tensors, True, scalars, labels, labels.clone(),
                        randn(50, seed=2))


@needs_triton
def test_triton_pixel_contrast_matches_reference():
    N, M, D = 120, 50, 40
    z, extra = randn(N, D, seed=0, norm=1), randn(M, D, seed=1, norm=1)
    labels, extra_labels = labels_with(N, 5, seed=0), labels_with(M, 6, seed=1)
    labels[:3] = 7      # a class with no bank entry, besides labels_with's singletons

    def loss(backend):
        def run(z, extra):
            return ops.pixel_contrast_loss(z, labels.to(z.device), extra=extra,
                                           extra_labels=extra_labels.to(z.device),
                                           reduction='none', backend=backend)
        return run

    compare(on_device(loss('triton')), loss('reference'), [z, extra], upstream=randn(N, seed=2))


@needs_triton
def test_triton_positive_softplus_neg_inf_offset():
    from densecl.ops import triton as triton_ops
    x = randn(40, 16, seed=0).float().to(DEVICE).requires_grad_()
    offset = torch.full((40,), NEG_INF, device=DEVICE, requires_grad=True)
    labels = (torch.arange(40) % 3).to(DEVICE)
    out = triton_ops.positive_softplus(x, x, offset, 0.1, True, labels, labels)
    out.backward(torch.ones_like(out))
    assert torch.equal(out, torch.zeros_like(out))
    assert torch.equal(x.grad, torch.zeros_like(x))
    assert torch.equal(offset.grad, torch.zeros_like(offset))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='bf16 tl.dot needs a GPU')
def test_triton_pixel_contrast_bf16_on_gpu():
    z, extra = randn(500, 128, seed=0, norm=1), randn(300, 128, seed=1, norm=1)
    labels, extra_labels = labels_with(500, 19, seed=0), labels_with(300, 19, seed=1)
    z16, extra16 = (x.to(DEVICE, torch.bfloat16).requires_grad_() for x in (z, extra))
    loss = ops.pixel_contrast_loss(z16, labels.to(DEVICE), extra=extra16,
                                   extra_labels=extra_labels.to(DEVICE), backend='triton')
    assert loss.dtype == torch.float32
    loss.backward()
    z64, extra64 = (x.detach().double().cpu().requires_grad_() for x in (z16, extra16))
    want = reference.pixel_contrast_loss(z64, labels, 0.1, 0.07, 255, extra64, extra_labels,
                                         'mean')
    want.backward()
    assert_close(loss.cpu(), want, rtol=2e-2)
    assert_close(z16.grad.cpu(), z64.grad, rtol=5e-2)
    assert_close(extra16.grad.cpu(), extra64.grad, rtol=5e-2)
