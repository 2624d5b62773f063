"""Helpers shared by the densecl.ops tests: inputs, values with gradients, tolerances."""
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

# Where the Triton kernels run: CUDA, or the interpreter on the CPU (tests/conftest.py).
TRITON_DEVICE = 'cuda' if torch.cuda.is_available() else 'cpu'


def randn(*shape, seed, norm=None):
    """float64 normal samples; with ``norm``, rows rescaled to that L2 norm."""
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return x if norm is None else norm * F.normalize(x, dim=-1)


def value_and_grads(fn, inputs, dtype, upstream=None, device='cpu'):
    """``fn`` at ``inputs`` cast to ``dtype`` on ``device``: its value and every input's gradient.

    The output is back-propagated with ``upstream`` (ones by default).
    """
    leaves = [x.detach().to(device, dtype).requires_grad_() for x in inputs]
    out = fn(*leaves)
    out.backward(torch.ones_like(out) if upstream is None else upstream.to(out.device, out.dtype))
    return [out.detach().cpu()] + [x.grad.cpu() for x in leaves]


def assert_close(actual, expected, rtol=1e-4):
    """Elementwise rtol with an absolute floor of rtol x the largest finite |expected|
    (at least 1e-6, float32 rounding of an exact zero)."""
    actual, expected = actual.cpu().to(torch.float64), expected.cpu().to(torch.float64)
    finite = torch.isfinite(expected)
    scale = expected[finite].abs().max().item() if finite.any() else 1.0
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=max(rtol * scale, 1e-6))


def compare(fused, naive, inputs, rtol=1e-4, upstream=None, device='cpu'):
    """``fused`` in float32 on ``device`` vs ``naive`` in float64 on the CPU: the value and
    every input gradient. Returns the float32 results."""
    got = value_and_grads(fused, inputs, torch.float32, upstream, device)
    want = value_and_grads(naive, inputs, torch.float64, upstream)
    assert got[0].dtype == torch.float32
    for g, w in zip(got, want):
        assert torch.equal(torch.isfinite(g), torch.isfinite(w))
        assert_close(g, w, rtol)
    return got


def labels_with(n, num_classes, seed, ignore_frac=0.2, offset=0):
    """Random labels in [offset, offset + num_classes) with ~ignore_frac at 255 and
    one class that has a single pixel."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(offset, offset + num_classes, (n,), generator=gen)
    labels[torch.rand(n, generator=gen) < ignore_frac] = 255
    if n > 3:
        labels[3] = offset + num_classes      # a singleton class: no positive
    return labels


class LargestTensor(TorchDispatchMode):
    """Records the largest numel among the outputs of every op run under it."""

    def __init__(self):
        super().__init__()
        self.numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self.numel = max(self.numel, t.numel())
        return out
