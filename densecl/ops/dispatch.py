"""Which implementation of the two primitives runs a call.

Every backend module (``tiled``, ``reference``, ``triton``) implements
``logsumexp(q, k, temperature, exclude_self, k_mask)`` and
``propagation(x, value, gamma)`` with the same semantics; the public
functions pick one here by name.
"""
import functools
import importlib
import os

from . import reference, tiled

BACKENDS = ('auto', 'triton', 'tiled', 'reference')


@functools.lru_cache(maxsize=None)
def triton_importable():
    """Whether ``densecl.ops.triton`` (and so triton itself) imports here."""
    try:
        importlib.import_module(f'{__package__}.triton')
    except ImportError:
        return False
    return True


def resolve_backend(backend, device):
    """The concrete backend ('triton', 'tiled' or 'reference') for tensors on ``device``."""
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
    if backend == 'auto':
        return 'triton' if device.type == 'cuda' and triton_importable() else 'tiled'
    if (backend == 'triton' and device.type != 'cuda'
            and os.environ.get('TRITON_INTERPRET') != '1'):
        raise ValueError(f"backend='triton' needs CUDA tensors (or TRITON_INTERPRET=1), "
                         f'got tensors on {device}')
    return backend


def backend_module(backend):
    """The module implementing ``logsumexp`` and ``propagation`` for a concrete backend."""
    if backend == 'tiled':
        return tiled
    if backend == 'reference':
        return reference
    return importlib.import_module(f'{__package__}.triton')
