"""Triton kernels for the dense contrastive primitives (the only triton importer in densecl).

``logsumexp(q, k, temperature, exclude_self, k_mask)`` and
``propagation(x, value, gamma)`` have the same signature and semantics as
their counterparts in ``densecl.ops.reference``; ``densecl.ops`` chooses
between implementations. Without a GPU the kernels run under
``TRITON_INTERPRET=1``, which must be set before this module is imported.
"""
from .logsumexp import logsumexp
from .propagation import propagation

__all__ = ['logsumexp', 'propagation']
