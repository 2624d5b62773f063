"""Which implementation of the primitives runs a call.

Every backend module (``tiled``, ``reference``, ``triton``) implements
``logsumexp(q, k, temperature, exclude_self, k_mask, q_labels, k_labels)``,
``positive_softplus(q, k, offset, temperature, exclude_self, q_labels,
k_labels)`` and ``propagation(x, value, gamma)`` with the same semantics; the public
functions pick one here by name. 'auto' takes Triton only where its kernels
support the call and otherwise falls back to the tiled path; an explicit
``backend='triton'`` that the kernels cannot serve raises with the reason.
"""
import functools
import importlib
import logging
import os

import torch

from . import reference, tiled

BACKENDS = ('auto', 'triton', 'tiled', 'reference')

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=None)
def triton_importable():
    """Whether ``densecl.ops.triton`` (and so triton itself) imports here."""
    try:
        importlib.import_module(f'{__package__}.triton')
    except ImportError:
        return False
    return True


def triton_unsupported(device, dtype, feature_dims):
    """Why the Triton kernels cannot run a call, or None when they can.

    Args:
        device (torch.device): where the inputs live.
        dtype (torch.dtype): the inputs' dtype.
        feature_dims (tuple[int]): the feature dims the kernel sees (for
            propagation, those of ``x`` and ``value``).
    """
    interpret = os.environ.get('TRITON_INTERPRET') == '1'
    if device.type != 'cuda' and not interpret:
        return f'it needs CUDA tensors (or TRITON_INTERPRET=1), got tensors on {device}'
    if not triton_importable():
        return 'triton does not import here'
    if dtype == torch.float64:
        return 'its kernels keep float32 running statistics, so float64 inputs go to the tiled path'
    if interpret and device.type != 'cuda' and dtype != torch.float32:
        return f'the Triton interpreter computes {dtype} dot products wrongly (float32 only)'
    max_dim = importlib.import_module(f'{__package__}.triton.logsumexp').MAX_BLOCK_D
    if max(feature_dims) > max_dim:
        return f'its kernels support feature dims up to {max_dim}, got {max(feature_dims)}'
    return None


def resolve_backend(backend, device, dtype, feature_dims):
    """The concrete backend ('triton', 'tiled' or 'reference') for one call.

    'auto' is Triton for CUDA tensors the kernels support and 'tiled'
    otherwise (logged at debug level with the reason), so it always works.

    Raises:
        ValueError: for an unknown backend, or 'triton' for a call its
            kernels do not support (the message says why).
    """
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
    if backend == 'auto':
        if device.type != 'cuda':
            return 'tiled'
        reason = triton_unsupported(device, dtype, feature_dims)
        if reason is not None:
            logger.debug("backend='auto' uses the tiled path: triton cannot run this call, %s",
                         reason)
            return 'tiled'
        return 'triton'
    if backend == 'triton':
        reason = triton_unsupported(device, dtype, feature_dims)
        if reason is not None:
            raise ValueError(f"backend='triton' cannot run this call: {reason}")
    return backend


def backend_module(backend):
    """The module implementing ``logsumexp`` and ``propagation`` for a concrete backend."""
    if backend == 'tiled':
        return tiled
    if backend == 'reference':
        return reference
    return importlib.import_module(f'{__package__}.triton')
