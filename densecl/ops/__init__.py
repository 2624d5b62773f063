"""Exact dense contrastive similarity in O(N) memory, pure PyTorch + Triton.

Pixel-level contrastive losses are sums over an (N, M) similarity matrix with
N in the tens of thousands, too large to materialise. All of that work goes
through three primitives (``logsumexp``, optionally over other-label keys
only; ``positive_softplus``; ``propagation``), each implemented by three
backends (``backend=``):

- ``'triton'``: ``densecl.ops.triton`` kernels, for CUDA tensors (or any
  tensor under ``TRITON_INTERPRET=1``) of float32/bfloat16/float16 with
  feature dims up to 256; imported only when chosen; raises ``ValueError``
  with the reason for any other call;
- ``'tiled'``: ``densecl.ops.tiled``, tiled PyTorch with custom autograd (the CPU path);
- ``'reference'``: ``densecl.ops.reference``, naive dense formulas, O(N x M)
  memory; the test oracle;
- ``'auto'``: triton for CUDA tensors the kernels support, else tiled (the
  fallback, e.g. for float64 or wide features, is logged at debug level).

Inputs may be float16/bfloat16/float32/float64; the arithmetic and the
results are float32, or float64 for float64 inputs, on every backend. This
package needs only torch (and triton for the GPU path), not mmseg.
"""
from .dispatch import BACKENDS
from .losses import (centroid_bank_loss, info_nce, pixel_contrast_loss, prototype_contrast_loss,
                     prototype_cross_entropy, prototype_logits, supcon_loss)
from .similarity import pixel_logsumexp, pixel_propagation

__all__ = [
    'BACKENDS', 'pixel_logsumexp', 'pixel_propagation', 'supcon_loss', 'pixel_contrast_loss',
    'info_nce', 'prototype_logits', 'prototype_cross_entropy',
    'prototype_contrast_loss', 'centroid_bank_loss'
]
