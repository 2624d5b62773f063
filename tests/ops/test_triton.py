"""Triton primitives against dense float64 formulas, values and gradients.

Without a GPU the kernels run in the Triton interpreter (tests/conftest.py sets
TRITON_INTERPRET=1), where only fp32 is meaningful; sizes are kept small and
deliberately not multiples of the block sizes. bf16 checks run on CUDA only.
"""
import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('triton')

from densecl.ops import reference  # noqa: E402
from densecl.ops import triton as triton_ops  # noqa: E402
from ops_testing import TRITON_DEVICE as DEVICE  # noqa: E402
from ops_testing import assert_close, value_and_grads  # noqa: E402


def unit(*shape, gen):
    return F.normalize(torch.randn(*shape, generator=gen, dtype=torch.float64), dim=-1)


def run_lse(q64, k64, temperature, exclude_self, k_mask, same=False):
    """Kernel (fp32) and reference (fp64) values and q/k grads for the same inputs."""
    upstream = torch.randn(q64.shape[0], generator=torch.Generator().manual_seed(123),
                           dtype=torch.float64)
    out = {}
    for name, module, dtype, device in (('kernel', triton_ops, torch.float32, DEVICE),
                                        ('ref', reference, torch.float64, 'cpu')):
        mask = None if k_mask is None else k_mask.to(device)
        if same:
            fn = lambda x: module.logsumexp(x, x, temperature, exclude_self, mask)  # noqa: E731
            lse, dq = value_and_grads(fn, [q64], dtype, upstream, device)
            out[name] = (lse, dq, None)
        else:
            fn = lambda q, k: module.logsumexp(q, k, temperature, exclude_self, mask)  # noqa: E731
            out[name] = tuple(value_and_grads(fn, [q64, k64], dtype, upstream, device))
    return out


def check(out, rtol=1e-4):
    for got, want in zip(out['kernel'], out['ref']):
        if want is not None:
            assert_close(got, want, rtol)


# (N, M, D, temperature, exclude_self, mask)
LSE_CASES = [
    (1, 1, 16, 0.1, False, None),
    (1, 5, 16, 0.5, True, None),
    (17, 17, 64, 0.07, True, None),
    (17, 40, 40, 0.2, False, 'rand'),
    (100, 33, 128, 1.0, True, 'rand'),
    (100, 100, 16, 0.05, True, 'rand'),
    (300, 120, 64, 0.1, False, None),
    (33, 300, 40, 0.5, True, 'rand'),
    (64, 64, 128, 0.05, False, 'rand'),
]


@pytest.mark.parametrize('N,M,D,temperature,exclude_self,mask', LSE_CASES)
def test_logsumexp_matches_reference(N, M, D, temperature, exclude_self, mask):
    gen = torch.Generator().manual_seed(N * 1000 + M + D)
    q, k = unit(N, D, gen=gen), unit(M, D, gen=gen)
    k_mask = None if mask is None else torch.rand(M, generator=gen) > 0.3
    out = run_lse(q, k, temperature, exclude_self, k_mask)
    assert out['kernel'][0].dtype == torch.float32 and out['kernel'][0].shape == (N,)
    check(out)


def test_logsumexp_empty_rows_are_neg_inf_with_zero_grad():
    gen = torch.Generator().manual_seed(0)
    N, M, D = 40, 37, 40
    q, k = unit(N, D, gen=gen), unit(M, D, gen=gen)
    # A single usable column (5) with exclude_self: row 5 has an empty set.
    k_mask = torch.zeros(M, dtype=torch.bool)
    k_mask[5] = True
    out = run_lse(q, k, 0.1, True, k_mask)
    lse, dq, dk = out['kernel']
    assert torch.isneginf(lse[5]) and torch.isfinite(lse[torch.arange(N) != 5]).all()
    assert torch.equal(dq[5], torch.zeros_like(dq[5]))
    assert torch.isfinite(dq).all() and torch.isfinite(dk).all()
    check(out)

    # Everything masked: all rows -inf, gradients exactly zero even for a nonzero upstream grad.
    qt = q.float().to(DEVICE).requires_grad_()
    kt = k.float().to(DEVICE).requires_grad_()
    lse = triton_ops.logsumexp(qt, kt, 0.2, False, torch.zeros(M, dtype=torch.bool, device=DEVICE))
    assert torch.isneginf(lse).all()
    lse.backward(torch.ones_like(lse))
    assert torch.equal(qt.grad, torch.zeros_like(qt)) and torch.equal(kt.grad, torch.zeros_like(kt))

    # Single row and column with exclude_self: the only candidate is the row itself.
    q1 = q[:1].float().to(DEVICE).requires_grad_()
    lse = triton_ops.logsumexp(q1, q1, 0.1, True, None)
    lse.backward(torch.ones_like(lse))
    assert torch.isneginf(lse).all() and torch.equal(q1.grad, torch.zeros_like(q1))


def test_logsumexp_empty_keys():
    q = torch.randn(7, 16, device=DEVICE, requires_grad=True)
    k = torch.randn(0, 16, device=DEVICE, requires_grad=True)
    lse = triton_ops.logsumexp(q, k, 0.1, False, None)
    assert lse.shape == (7,) and torch.isneginf(lse).all()
    lse.backward(torch.ones_like(lse))
    assert torch.equal(q.grad, torch.zeros_like(q))


@pytest.mark.parametrize('temperature', [0.05, 1.0])
def test_logsumexp_large_norm_inputs_do_not_overflow(temperature):
    gen = torch.Generator().manual_seed(1)
    q, k = 100 * unit(50, 64, gen=gen), 100 * unit(70, 64, gen=gen)
    k[3] = q[3]  # one exact, very large logit: 1e4 / T
    out = run_lse(q, k, temperature, False, None)
    lse, dq, dk = out['kernel']
    assert torch.isfinite(lse).all() and torch.isfinite(dq).all() and torch.isfinite(dk).all()
    assert_close(lse, out['ref'][0], rtol=1e-5)
    # Logits reach 2e5, so fp32 rounding of q.k alone moves P by ~1e-2 relative.
    assert_close(dq, out['ref'][1], rtol=2e-2)
    assert_close(dk, out['ref'][2], rtol=2e-2)


def test_logsumexp_duplicated_rows():
    gen = torch.Generator().manual_seed(2)
    base = unit(10, 40, gen=gen)
    q = base[torch.arange(45) % 10]
    k = torch.cat([base, base, base[:3]])
    k_mask = torch.ones(23, dtype=torch.bool)
    k_mask[1] = False
    out = run_lse(q, k, 0.1, True, k_mask)
    check(out)


@pytest.mark.parametrize('exclude_self,mask', [(True, None), (True, 'rand'), (False, 'rand')])
def test_logsumexp_self_contrast_sums_both_gradients(exclude_self, mask):
    gen = torch.Generator().manual_seed(3)
    x = unit(100, 40, gen=gen)
    k_mask = None if mask is None else torch.rand(100, generator=gen) > 0.4
    out = run_lse(x, x, 0.1, exclude_self, k_mask, same=True)
    assert_close(out['kernel'][0], out['ref'][0])
    assert_close(out['kernel'][1], out['ref'][1])

    # Same values but a separate key tensor: the gradients must split, not fuse.
    sep = run_lse(x, x.clone(), 0.1, exclude_self, k_mask)
    assert_close(sep['kernel'][1] + sep['kernel'][2], out['ref'][1])
    assert_close(sep['kernel'][1], sep['ref'][1])


def test_logsumexp_detached_key_gets_no_gradient():
    gen = torch.Generator().manual_seed(4)
    x = unit(30, 16, gen=gen).float().to(DEVICE).requires_grad_()
    lse = triton_ops.logsumexp(x, x.detach(), 0.2, True, None)
    lse.sum().backward()
    x64 = x.detach().double().cpu().requires_grad_()
    reference.logsumexp(x64, x64.detach(), 0.2, True, None).sum().backward()
    assert_close(x.grad, x64.grad)


def test_logsumexp_grad_for_k_only():
    gen = torch.Generator().manual_seed(5)
    q = unit(20, 16, gen=gen).float().to(DEVICE)
    k = unit(50, 16, gen=gen).float().to(DEVICE).requires_grad_()
    triton_ops.logsumexp(q, k, 0.3, False, None).sum().backward()
    k64 = k.detach().double().cpu().requires_grad_()
    reference.logsumexp(q.double().cpu(), k64, 0.3, False, None).sum().backward()
    assert_close(k.grad, k64.grad)


# (B, L, D, E, gamma)
PROP_CASES = [
    (1, 1, 16, 16, 2.0),
    (2, 17, 40, 24, 1.0),
    (2, 100, 64, 32, 2.0),
    (1, 300, 16, 16, 3.5),
    (3, 33, 128, 20, 3.5),
    (1, 64, 64, 64, 2.0),
]


def run_prop(x64, v64, gamma):
    """Kernel (fp32) and reference (fp64) values and x/value grads for the same inputs."""
    upstream = torch.randn(*v64.shape, generator=torch.Generator().manual_seed(7),
                           dtype=torch.float64)
    return {name: value_and_grads(lambda x, v: module.propagation(x, v, gamma), [x64, v64],
                                  dtype, upstream, device)
            for name, module, dtype, device in (('kernel', triton_ops, torch.float32, DEVICE),
                                                ('ref', reference, torch.float64, 'cpu'))}


@pytest.mark.parametrize('B,L,D,E,gamma', PROP_CASES)
def test_propagation_matches_reference(B, L, D, E, gamma):
    gen = torch.Generator().manual_seed(B * 1000 + L + D)
    x = unit(B, L, D, gen=gen)
    v = torch.randn(B, L, E, generator=gen, dtype=torch.float64)
    out = run_prop(x, v, gamma)
    assert out['kernel'][0].dtype == torch.float32 and out['kernel'][0].shape == (B, L, E)
    check(out)


def test_propagation_duplicated_and_opposite_pixels():
    """s = 1 (duplicates), s = -1 (opposites, weight and gradient 0) and s = 0 exactly,
    where the gradient convention (0, as for relu) is what is being checked."""
    gen = torch.Generator().manual_seed(8)
    base = unit(1, 8, 16, gen=gen)
    e0 = torch.zeros(1, 1, 16, dtype=torch.float64)
    e0[..., 0] = 1
    e1 = torch.zeros(1, 1, 16, dtype=torch.float64)
    e1[..., 1] = 1
    x = torch.cat([base, base, -base, e0, e1], dim=1)
    v = torch.randn(1, x.shape[1], 24, generator=gen, dtype=torch.float64)
    for gamma in (1.0, 2.0, 3.5):
        out = run_prop(x, v, gamma)
        assert all(torch.isfinite(got).all() for got in out['kernel'])
        check(out)


def test_propagation_gradient_only_for_value():
    gen = torch.Generator().manual_seed(9)
    x = unit(2, 20, 16, gen=gen).float().to(DEVICE)
    v = torch.randn(2, 20, 16, generator=gen).to(DEVICE).requires_grad_()
    triton_ops.propagation(x, v, 2.0).sum().backward()
    v64 = v.detach().double().cpu().requires_grad_()
    reference.propagation(x.double().cpu(), v64, 2.0).sum().backward()
    assert_close(v.grad, v64.grad)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='bf16 tl.dot needs a GPU')
def test_bf16_inputs_on_gpu():
    gen = torch.Generator().manual_seed(10)
    q, k = unit(500, 128, gen=gen), unit(700, 128, gen=gen)
    qb = q.to(DEVICE, torch.bfloat16).requires_grad_()
    kb = k.to(DEVICE, torch.bfloat16).requires_grad_()
    lse = triton_ops.logsumexp(qb, kb, 0.1, False, None)
    assert lse.dtype == torch.float32
    lse.sum().backward()
    q64 = qb.detach().double().cpu().requires_grad_()
    k64 = kb.detach().double().cpu().requires_grad_()
    ref = reference.logsumexp(q64, k64, 0.1, False, None)
    ref.sum().backward()
    assert_close(lse, ref, rtol=1e-2)
    assert_close(qb.grad.float(), q64.grad, rtol=5e-2)
    assert_close(kb.grad.float(), k64.grad, rtol=5e-2)

    x = unit(2, 196, 128, gen=gen).to(DEVICE, torch.bfloat16).requires_grad_()
    v = torch.randn(2, 196, 64, generator=gen).to(DEVICE, torch.bfloat16).requires_grad_()
    y = triton_ops.propagation(x, v, 2.0)
    assert y.dtype == torch.float32
    y.sum().backward()
    x64 = x.detach().double().cpu().requires_grad_()
    v64 = v.detach().double().cpu().requires_grad_()
    ref = reference.propagation(x64, v64, 2.0)
    ref.sum().backward()
    assert_close(y, ref, rtol=2e-2)
    assert_close(x.grad.float(), x64.grad, rtol=5e-2)
    assert_close(v.grad.float(), v64.grad, rtol=5e-2)
