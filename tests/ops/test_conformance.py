"""Every public function of densecl.ops, on every fused backend, against the reference.

One table, one entry per public function: the inputs (float64, the
differentiable ones) and the call with its fixed arguments (labels, masks,
temperatures). Each entry runs in float32 on the tiled path and on the Triton
kernels (CUDA, or the interpreter on the CPU) and is compared with the
reference backend in float64 on the value and every input gradient; in
float64 the tiled path must agree to rounding. Adding a function to the
suite is adding an entry to ``CASES``.
"""
import importlib.util

import pytest
import torch

import densecl.ops as ops
from ops_testing import TRITON_DEVICE, assert_close, compare, randn, value_and_grads

# Sizes are small (the interpreter loads ~1 element per us) and not multiples of
# the kernels' blocks; the labels have ignored pixels and a single-pixel class.
LABELS = torch.randint(0, 5, (150,), generator=torch.Generator().manual_seed(0))
LABELS[::7] = 255
LABELS[3] = 9
EXTRA_LABELS = LABELS[:64].flip(0)
PROTO_LABELS = LABELS[:100].clamp_max(6).masked_fill(LABELS[:100] == 255, 255)
K_MASK = torch.arange(333) % 5 != 2

# name: (inputs, call(backend, *inputs)); calls move their fixed tensors to the inputs' device.
CASES = {
    'pixel_logsumexp': (
        lambda: [randn(200, 32, seed=1, norm=1), randn(333, 32, seed=2, norm=1)],
        lambda backend, q, k: ops.pixel_logsumexp(
            q, k, 0.1, k_mask=K_MASK.to(q.device), backend=backend)),
    'pixel_logsumexp (self)': (
        lambda: [randn(200, 32, seed=3, norm=1)],
        lambda backend, q: ops.pixel_logsumexp(q, temperature=0.07, backend=backend)),
    'supcon_loss': (
        lambda: [randn(150, 32, seed=4, norm=1), randn(64, 32, seed=5, norm=1)],
        lambda backend, z, extra: ops.supcon_loss(
            z, LABELS.to(z.device), 0.1, extra=extra, extra_labels=EXTRA_LABELS.to(z.device),
            reduction='none', backend=backend)),
    'pixel_contrast_loss': (
        lambda: [randn(150, 32, seed=17, norm=1), randn(64, 32, seed=18, norm=1)],
        lambda backend, z, extra: ops.pixel_contrast_loss(
            z, LABELS.to(z.device), 0.1, 0.07, extra=extra,
            extra_labels=EXTRA_LABELS.to(z.device), reduction='none', backend=backend)),
    'info_nce': (
        lambda: [randn(100, 32, seed=6, norm=1), randn(100, 32, seed=7, norm=1),
                 randn(300, 32, seed=8, norm=1)],
        lambda backend, q, k_pos, negatives: ops.info_nce(
            q, k_pos, negatives, 0.2, reduction='none', backend=backend)),
    'pixel_propagation': (
        lambda: [randn(2, 32, 9, 11, seed=9), randn(2, 16, 9, 11, seed=10)],
        lambda backend, x, value: ops.pixel_propagation(x, value, 2.0, backend=backend)),
    'prototype_logits': (   # no backend: one matmul, the same on every path
        lambda: [randn(100, 32, seed=11, norm=1), randn(7, 32, seed=12, norm=1),
                 randn(7, 32, seed=13).abs() * 0.05],
        lambda backend, f, mu, var: ops.prototype_logits(f, mu, 0.1, var=var)),
    'prototype_cross_entropy': (
        lambda: [randn(100, 32, seed=14, norm=1), randn(7, 32, seed=15, norm=1),
                 randn(7, 32, seed=16).abs() * 0.05],
        lambda backend, f, mu, var: ops.prototype_cross_entropy(
            f, mu, PROTO_LABELS.to(f.device), 0.1, var=var, reduction='none', backend=backend)),
    'prototype_contrast_loss': (
        lambda: [randn(100, 32, seed=19, norm=1), randn(7, 32, seed=20, norm=1),
                 randn(80, 32, seed=21, norm=1)],
        lambda backend, z, prototypes, keys: ops.prototype_contrast_loss(
            z, PROTO_LABELS.to(z.device), prototypes, 0.5, keys=keys,
            key_labels=PROTO_LABELS[:80].flip(0).to(z.device), reduction='none',
            backend=backend)),
    'centroid_bank_loss': (
        lambda: [randn(150, 32, seed=22, norm=1), randn(64, 32, seed=23, norm=1)],
        lambda backend, f, bank: ops.centroid_bank_loss(
            f, LABELS.to(f.device), bank, EXTRA_LABELS.to(f.device), 0.1, reduction='none',
            backend=backend)),
}

BACKENDS = [
    'tiled',
    pytest.param('triton', marks=pytest.mark.skipif(
        importlib.util.find_spec('triton') is None, reason='needs triton')),
]


def test_every_public_function_is_in_the_suite():
    tested = {name.split(' ')[0] for name in CASES}
    assert tested == set(ops.__all__) - {'BACKENDS'}


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('name', list(CASES))
def test_float32_matches_the_float64_reference(name, backend):
    inputs, call = CASES[name]
    inputs = inputs()
    device = TRITON_DEVICE if backend == 'triton' else 'cpu'
    upstream = randn(*call('reference', *inputs).shape, seed=99)
    compare(lambda *x: call(backend, *x), lambda *x: call('reference', *x), inputs,
            upstream=upstream, device=device)


@pytest.mark.parametrize('name', list(CASES))
def test_float64_tiled_matches_the_reference_to_rounding(name):
    inputs, call = CASES[name]
    inputs = inputs()
    got = value_and_grads(lambda *x: call('tiled', *x), inputs, torch.float64)
    want = value_and_grads(lambda *x: call('reference', *x), inputs, torch.float64)
    assert got[0].dtype == torch.float64
    for g, w in zip(got, want):
        assert_close(g, w, rtol=1e-10)
