"""Triton kernels for the dense contrastive primitives (the only triton importer in densecl).

``logsumexp(q, k, temperature, exclude_self, k_mask, q_labels, k_labels)``,
``positive_softplus(q, k, offset, temperature, exclude_self, q_labels, k_labels)``
and ``propagation(x, value, gamma)`` have the same signature and semantics as
their counterparts in ``densecl.ops.reference``; ``densecl.ops`` chooses
between implementations. Without a GPU the kernels run under
``TRITON_INTERPRET=1``, which must be set before this module is imported.
"""
from .logsumexp import logsumexp
from .positive import positive_softplus
from .propagation import propagation

__all__ = ['logsumexp', 'positive_softplus', 'propagation']
