"""Dense contrastive losses built on two fused primitives.

Pixel-level contrastive losses are sums over an (N, M) similarity matrix with
N in the tens of thousands, too large to materialise. All of that work goes
through two primitives that every backend module implements with the same
signature:

- ``logsumexp(q, k, temperature, exclude_self, k_mask)``: masked per-row
  ``log sum_j exp(q_i . k_j / T)``;
- ``propagation(x, value, gamma)``: PixPro's ``sum_j max(x_i . x_j, 0)^gamma value_j``.

The losses below are composed on top of them with ordinary autograd and
O(N x D) extra memory. Backends (``backend=``):

- ``'triton'``: ``densecl.ops.triton`` kernels, for CUDA tensors (or any
  tensor under ``TRITON_INTERPRET=1``); imported only when chosen;
- ``'torch'``: ``densecl.ops.chunked``, tiled PyTorch (the CPU path);
- ``'reference'``: ``densecl.ops.reference``, naive dense formulas, O(N x M)
  memory; the test oracle;
- ``'auto'``: triton for CUDA tensors where triton imports, else torch.

Inputs may be float16/bfloat16/float32/float64; the arithmetic and the
results are float32, or float64 for float64 inputs.
"""
import functools
import importlib
import numbers
import os

import torch
import torch.nn.functional as F

from . import chunked, reference
from .precision import accumulation_dtype

BACKENDS = ('auto', 'triton', 'torch', 'reference')
REDUCTIONS = ('mean', 'sum', 'none')
FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)

__all__ = [
    'BACKENDS', 'pixel_logsumexp', 'supcon_loss', 'info_nce', 'pixel_propagation',
    'prototype_logits', 'prototype_cross_entropy'
]


# --------------------------------------------------------------- dispatch


@functools.lru_cache(maxsize=None)
def _triton_importable():
    """Whether ``densecl.ops.triton`` (and so triton itself) imports here."""
    try:
        importlib.import_module(f'{__name__}.triton')
    except ImportError:
        return False
    return True


def _resolve_backend(backend, device):
    """The concrete backend ('triton', 'torch' or 'reference') for tensors on ``device``."""
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
    if backend == 'auto':
        return 'triton' if device.type == 'cuda' and _triton_importable() else 'torch'
    if (backend == 'triton' and device.type != 'cuda'
            and os.environ.get('TRITON_INTERPRET') != '1'):
        raise ValueError(f"backend='triton' needs CUDA tensors (or TRITON_INTERPRET=1), "
                         f'got tensors on {device}')
    return backend


def _primitives(backend):
    """The module implementing ``logsumexp`` and ``propagation`` for ``backend``."""
    if backend == 'torch':
        return chunked
    if backend == 'reference':
        return reference
    return importlib.import_module(f'{__name__}.triton')


# ------------------------------------------------------------- validation


def _check_float(name, tensor, *ndims):
    """A floating-point tensor of an allowed dtype with one of ``ndims`` dims."""
    if not isinstance(tensor, torch.Tensor) or tensor.dtype not in FLOAT_DTYPES:
        got = tensor.dtype if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise ValueError(f'{name} must be a float16/bfloat16/float32/float64 tensor, got {got}')
    if tensor.dim() not in ndims:
        dims = ' or '.join(f'{n}-D' for n in ndims)
        raise ValueError(f'{name} must be {dims}, got shape {tuple(tensor.shape)}')


def _check_like(name, tensor, ref_name, ref):
    """Same dtype and device as ``ref``."""
    if tensor.dtype != ref.dtype:
        raise ValueError(f'{name} has dtype {tensor.dtype} but {ref_name} has {ref.dtype}')
    if tensor.device != ref.device:
        raise ValueError(f'{name} is on {tensor.device} but {ref_name} is on {ref.device}')


def _check_feature_dim(name, tensor, ref_name, ref):
    if tensor.shape[-1] != ref.shape[-1]:
        raise ValueError(f'{name} has feature dim {tensor.shape[-1]} but {ref_name} has '
                         f'{ref.shape[-1]}')


def _check_index(name, tensor, length, ref_name, ref, dtype_kind='integer'):
    """(length,) integer labels, or a bool mask, on the device of ``ref``."""
    is_bool = isinstance(tensor, torch.Tensor) and tensor.dtype == torch.bool
    is_int = (isinstance(tensor, torch.Tensor) and not is_bool
              and not tensor.dtype.is_floating_point and not tensor.dtype.is_complex)
    if not (is_bool if dtype_kind == 'bool' else is_int):
        got = tensor.dtype if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise ValueError(f'{name} must be a tensor of {dtype_kind} dtype, got {got}')
    if tuple(tensor.shape) != (length,):
        raise ValueError(f'{name} must have shape ({length},) to match {ref_name}, '
                         f'got {tuple(tensor.shape)}')
    if tensor.device != ref.device:
        raise ValueError(f'{name} is on {tensor.device} but {ref_name} is on {ref.device}')


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f'{name} must be a positive number, got {value!r}')
    return float(value)


def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')


def _reduce_rows(loss_valid, valid, counted, reduction):
    """Reduce per-row losses of the ``valid`` rows; 'none' scatters them into (N,) zeros.

    'mean' divides by the number of ``counted`` rows, and is 0 (still attached
    to the graph, with zero gradient) when there are none.
    """
    if reduction == 'none':
        return loss_valid.new_zeros(valid.shape).masked_scatter(valid, loss_valid)
    if reduction == 'sum':
        return loss_valid.sum()
    return loss_valid.sum() / counted.sum().clamp_min(1)


# -------------------------------------------------------------- functions


def pixel_logsumexp(q, k=None, temperature=0.1, exclude_self=True, k_mask=None,
                    backend='auto'):
    """Per-row ``log sum_j exp(q_i . k_j / temperature)`` without the (N, M) matrix.

    Args:
        q (Tensor): (N, D) queries.
        k (Tensor, optional): (M, D) keys; None contrasts ``q`` with itself
            (the gradients of both roles then add up in ``q``).
        temperature (float): softmax temperature, > 0.
        exclude_self (bool): drop the term j == i.
        k_mask (Tensor, optional): (M,) bool, True for usable keys.
        backend (str): one of :data:`BACKENDS`.

    Returns:
        Tensor: (N,) float32 (float64 for float64 inputs); rows without a
        usable key are -inf, with zero gradient.
    """
    _check_float('q', q, 2)
    keys = q
    if k is not None:
        _check_float('k', k, 2)
        _check_like('k', k, 'q', q)
        _check_feature_dim('k', k, 'q', q)
        keys = k
    if k_mask is not None:
        _check_index('k_mask', k_mask, keys.shape[0], 'k' if k is not None else 'q', keys,
                     dtype_kind='bool')
    temperature = _check_positive('temperature', temperature)
    primitives = _primitives(_resolve_backend(backend, q.device))
    return primitives.logsumexp(q, keys, temperature, bool(exclude_self), k_mask)


def supcon_loss(z, labels, temperature=0.1, ignore_index=255, extra=None, extra_labels=None,
                reduction='mean', backend='auto'):
    """Supervised contrastive loss L_out over pixels (Khosla et al. 2020).

    For anchor i, the positives P(i) are the other pixels with its label (and
    the entries of ``extra`` with its label); the denominator A(i) is every
    valid pixel except i plus every valid entry of ``extra``::

        L_i = -1/|P(i)| sum_{p in P(i)} log(exp(z_i.z_p / t) / sum_{a in A(i)} exp(z_i.z_a / t))

    The fused path never forms the (N, N) matrix: the denominator is the
    logsumexp primitive, and the positive logits sum to
    ``z_i . (S_{y_i} - z_i)`` with per-class sums ``S_c`` of the batch and the
    extra set. With one positive per anchor this is InfoNCE.

    Args:
        z (Tensor): (N, D) pixel embeddings (usually L2-normalised).
        labels (Tensor): (N,) integer labels, any non-negative values.
        temperature (float): > 0.
        ignore_index (int): label of pixels that are neither anchors nor
            contrasted against.
        extra (Tensor, optional): (M, D) extra contrast set, e.g. a memory bank.
        extra_labels (Tensor, optional): (M,) labels of ``extra``.
        reduction (str): 'mean' over anchors with a positive (0 if there are
            none), 'sum', or 'none' for (N,) with 0 at ignored and
            positive-less rows.
        backend (str): one of :data:`BACKENDS`.
    """
    _check_float('z', z, 2)
    _check_index('labels', labels, z.shape[0], 'z', z)
    if (extra is None) != (extra_labels is None):
        raise ValueError('extra and extra_labels must be given together, got only '
                         + ('extra' if extra_labels is None else 'extra_labels'))
    if extra is not None:
        _check_float('extra', extra, 2)
        _check_like('extra', extra, 'z', z)
        _check_feature_dim('extra', extra, 'z', z)
        _check_index('extra_labels', extra_labels, extra.shape[0], 'extra', extra)
    temperature = _check_positive('temperature', temperature)
    _check_reduction(reduction)
    backend = _resolve_backend(backend, z.device)
    if backend == 'reference':
        return reference.supcon_loss(z, labels, temperature, ignore_index, extra,
                                     extra_labels, reduction)
    primitives = _primitives(backend)
    dtype = accumulation_dtype(z)

    valid = labels != ignore_index
    pixels = z[valid]
    class_of = labels[valid]
    if extra is not None:
        extra_valid = extra_labels != ignore_index
        bank = extra[extra_valid]
        class_of = torch.cat([class_of, extra_labels[extra_valid]])
    # Dense class ids 0..C-1, shared by the batch and the extra set.
    class_ids, class_of = torch.unique(class_of, return_inverse=True)
    num_classes, num_pixels = class_ids.numel(), pixels.shape[0]
    pixel_class, bank_class = class_of[:num_pixels], class_of[num_pixels:]

    # Dropping the ignored rows first lets the primitive exclude j == i
    # without a key mask.
    lse = primitives.logsumexp(pixels, pixels, temperature, True, None).to(dtype)
    pixels_acc = pixels.to(dtype)
    class_sum = pixels_acc.new_zeros(num_classes, z.shape[1]).index_add(
        0, pixel_class, pixels_acc)
    class_count = torch.bincount(pixel_class, minlength=num_classes)
    if extra is not None:
        lse_bank = primitives.logsumexp(pixels, bank, temperature, False, None).to(dtype)
        class_sum = class_sum.index_add(0, bank_class, bank.to(dtype))
        class_count = class_count + torch.bincount(bank_class, minlength=num_classes)
    num_pos = (class_count[pixel_class] - 1).to(dtype)
    has_pos = num_pos > 0
    # An anchor without positives may have an empty denominator (-inf); it
    # is dropped below, but logaddexp(-inf, -inf) would send NaN gradients.
    lse = lse.masked_fill(~has_pos, 0.)
    if extra is not None:
        lse = torch.logaddexp(lse, lse_bank.masked_fill(~has_pos, 0.))
    pos_sum = (pixels_acc * (class_sum[pixel_class] - pixels_acc)).sum(1)
    loss = torch.where(has_pos, lse - pos_sum / (temperature * num_pos.clamp_min(1)), 0.)
    return _reduce_rows(loss, valid, has_pos, reduction)


def info_nce(q, k_pos, negatives, temperature=0.2, reduction='mean', backend='auto'):
    """InfoNCE in the queue form of MoCo (He et al. 2020) and DenseCL (Wang et al. 2021).

    ``L_i = -log(exp(q_i.k_i / t) / (exp(q_i.k_i / t) + sum_j exp(q_i.n_j / t)))``.
    The negatives' term is the logsumexp primitive, so a queue of 65,536
    keys is never expanded to (N, Q).

    Args:
        q (Tensor): (N, D) queries.
        k_pos (Tensor): (N, D) positive key of each query.
        negatives (Tensor): (Q, D) negative keys shared by all queries.
        temperature (float): > 0.
        reduction (str): 'mean', 'sum' or 'none' (N,).
        backend (str): one of :data:`BACKENDS`.
    """
    _check_float('q', q, 2)
    _check_float('k_pos', k_pos, 2)
    _check_float('negatives', negatives, 2)
    _check_like('k_pos', k_pos, 'q', q)
    _check_like('negatives', negatives, 'q', q)
    if k_pos.shape != q.shape:
        raise ValueError(f'k_pos must have the shape of q {tuple(q.shape)}, '
                         f'got {tuple(k_pos.shape)}')
    _check_feature_dim('negatives', negatives, 'q', q)
    temperature = _check_positive('temperature', temperature)
    _check_reduction(reduction)
    backend = _resolve_backend(backend, q.device)
    if backend == 'reference':
        return reference.info_nce(q, k_pos, negatives, temperature, reduction)
    dtype = accumulation_dtype(q)
    pos = (q.to(dtype) * k_pos.to(dtype)).sum(1) / temperature
    lse_neg = _primitives(backend).logsumexp(q, negatives, temperature, False, None)
    loss = torch.logaddexp(pos, lse_neg.to(dtype)) - pos
    every_row = torch.ones_like(loss, dtype=torch.bool)
    return _reduce_rows(loss, every_row, every_row, reduction)


def pixel_propagation(x, gamma, value, backend='auto'):
    """PixPro pixel propagation (Xie et al. 2021): ``y_i = sum_j max(x_i . x_j, 0)^gamma value_j``.

    ``x`` is L2-normalised along its feature dim here; the weights are not
    normalised by their sum, as in PixPro.

    Args:
        x (Tensor): (B, L, D) features, or (B, D, H, W) feature maps.
        gamma (float): sharpness exponent, > 0 (PixPro uses 2).
        value (Tensor): (B, L, E), or (B, E, H, W) with maps.
        backend (str): one of :data:`BACKENDS`.

    Returns:
        Tensor: (B, L, E) or (B, E, H, W), the layout of the inputs.
    """
    _check_float('x', x, 3, 4)
    _check_float('value', value, x.dim())
    _check_like('value', value, 'x', x)
    maps = x.dim() == 4
    if maps:
        if value.shape[0] != x.shape[0] or value.shape[2:] != x.shape[2:]:
            raise ValueError(f'value (B, E, H, W) {tuple(value.shape)} must match x '
                             f'(B, D, H, W) {tuple(x.shape)} in B, H and W')
        batch, channels, height, width = value.shape
        x = x.flatten(2).transpose(1, 2)
        value = value.flatten(2).transpose(1, 2)
    elif value.shape[:2] != x.shape[:2]:
        raise ValueError(f'value (B, L, E) {tuple(value.shape)} must match x (B, L, D) '
                         f'{tuple(x.shape)} in B and L')
    gamma = _check_positive('gamma', gamma)
    primitives = _primitives(_resolve_backend(backend, x.device))
    # eps = the smallest normal number: 1e-12 underflows to 0 in float16,
    # which would turn an all-zero pixel into NaN.
    x = F.normalize(x, dim=-1, eps=torch.finfo(x.dtype).tiny)
    y = primitives.propagation(x, value, gamma)
    if maps:
        y = y.transpose(1, 2).reshape(batch, channels, height, width)
    return y


def _check_prototypes(f, mu, var):
    _check_float('f', f, 2)
    _check_float('mu', mu, 2)
    _check_like('mu', mu, 'f', f)
    _check_feature_dim('mu', mu, 'f', f)
    if var is not None:
        _check_float('var', var, 2)
        _check_like('var', var, 'f', f)
        if var.shape != mu.shape:
            raise ValueError(f'var must have the shape of mu {tuple(mu.shape)}, '
                             f'got {tuple(var.shape)}')


def prototype_logits(f, mu, temperature, var=None):
    """(N, K) logits ``f . mu_k / t`` of features against class prototypes.

    With ``var``, SePiCo's distribution-aware term ``sum_d f_d^2 var_kd / (2 t^2)``
    is added (Xie et al. 2023): the Jensen upper bound of
    ``log E_z exp(f . z / t)`` for ``z ~ N(mu_k, diag(var_k))``.

    Args:
        f (Tensor): (N, D) features.
        mu (Tensor): (K, D) prototype means.
        temperature (float): > 0.
        var (Tensor, optional): (K, D) diagonal prototype variances.
    """
    _check_prototypes(f, mu, var)
    temperature = _check_positive('temperature', temperature)
    dtype = accumulation_dtype(f)
    f = f.to(dtype)
    logits = f @ mu.to(dtype).t() / temperature
    if var is not None:
        logits = logits + (f * f) @ var.to(dtype).t() / (2 * temperature ** 2)
    return logits


def prototype_cross_entropy(f, mu, labels, temperature, var=None, ignore_index=255,
                            reduction='mean', backend='auto'):
    """Cross-entropy of :func:`prototype_logits` against ``labels`` (SePiCo, Xie et al. 2023).

    The fused path never forms (N, K): with ``q' = [f, f^2]`` and
    ``k' = [mu, var / (2t)]``, ``q' . k' / t`` is exactly the logit, so the
    log-partition is the logsumexp primitive on (q', k') and the target
    logit a row-wise dot product.

    Args:
        f (Tensor): (N, D) features.
        mu (Tensor): (K, D) prototype means.
        labels (Tensor): (N,) integer labels in [0, K) or ``ignore_index``.
        temperature (float): > 0.
        var (Tensor, optional): (K, D) diagonal prototype variances.
        ignore_index (int): label of rows that are left out.
        reduction (str): 'mean' over non-ignored rows (0 if none), 'sum', or
            'none' for (N,) with 0 at ignored rows.
        backend (str): one of :data:`BACKENDS`.
    """
    _check_prototypes(f, mu, var)
    _check_index('labels', labels, f.shape[0], 'f', f)
    temperature = _check_positive('temperature', temperature)
    _check_reduction(reduction)
    backend = _resolve_backend(backend, f.device)
    if backend == 'reference':
        return reference.prototype_cross_entropy(f, mu, labels, temperature, var,
                                                 ignore_index, reduction)
    dtype = accumulation_dtype(f)
    valid = labels != ignore_index
    queries, keys = f[valid].to(dtype), mu.to(dtype)
    if var is not None:
        queries = torch.cat([queries, queries * queries], 1)
        keys = torch.cat([keys, var.to(dtype) / (2 * temperature)], 1)
    lse = _primitives(backend).logsumexp(queries, keys, temperature, False, None).to(dtype)
    target_logit = (queries * keys[labels[valid].long()]).sum(1) / temperature
    return _reduce_rows(lse - target_logit, valid, valid, reduction)
