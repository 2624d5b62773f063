"""logsumexp and propagation as public functions: checked arguments, chosen backend."""
import torch.nn.functional as F

from .checks import check_feature_dim, check_float, check_index, check_like, check_positive
from .dispatch import backend_module, resolve_backend
from .precision import accumulation_dtype

# The norm below which a pixel is treated as zero: its normalised vector is
# x / NORM_EPS, so all-zero pixels stay zero and similarities stay <= 1.
NORM_EPS = 1e-12


def normalize_pixels(x):
    """``x / max(||x||, NORM_EPS)`` along the last dim, computed in float32 (or float64).

    Half inputs would underflow: their squared norm, or 1e-12 itself, is 0
    in float16.
    """
    return F.normalize(x.to(accumulation_dtype(x)), dim=-1, eps=NORM_EPS).to(x.dtype)


def pixel_logsumexp(q, k=None, temperature=0.1, exclude_self=None, k_mask=None,
                    backend='auto'):
    """Per-row ``log sum_j exp(q_i . k_j / temperature)`` without the (N, M) matrix.

    Args:
        q (Tensor): (N, D) queries.
        k (Tensor, optional): (M, D) keys; None contrasts ``q`` with itself
            (the gradients of both roles then add up in ``q``).
        temperature (float): softmax temperature, > 0.
        exclude_self (bool, optional): drop the term j == i. Defaults to
            True when ``k`` is None (a pixel is not its own negative) and to
            False for a separate key set, whose key i is unrelated to query i;
            pass True for two aligned views whose row i is the same pixel.
        k_mask (Tensor, optional): (M,) bool, True for usable keys.
        backend (str): one of :data:`BACKENDS`.

    Returns:
        Tensor: (N,) float32 (float64 for float64 inputs); rows without a
        usable key are -inf, with zero gradient.
    """
    check_float('q', q, 2)
    keys = q
    if k is not None:
        check_float('k', k, 2)
        check_like('k', k, 'q', q)
        check_feature_dim('k', k, 'q', q)
        keys = k
    if k_mask is not None:
        check_index('k_mask', k_mask, keys.shape[0], 'k' if k is not None else 'q', keys,
                    dtype_kind='bool')
    temperature = check_positive('temperature', temperature)
    if exclude_self is None:
        exclude_self = k is None
    module = backend_module(resolve_backend(backend, q.device, q.dtype, (q.shape[1],)))
    return module.logsumexp(q, keys, temperature, bool(exclude_self), k_mask)


def pixel_propagation(x, value, gamma=2.0, backend='auto'):
    """PixPro pixel propagation (Xie et al. 2021): ``y_i = sum_j max(x_i . x_j, 0)^gamma value_j``.

    ``x`` is L2-normalised along its feature dim here (see
    :func:`normalize_pixels`); the weights are not normalised by their sum,
    as in PixPro.

    Args:
        x (Tensor): (B, L, D) features, or (B, D, H, W) feature maps.
        value (Tensor): (B, L, E), or (B, E, H, W) with maps.
        gamma (float): sharpness exponent, > 0 (PixPro uses 2).
        backend (str): one of :data:`BACKENDS`.

    Returns:
        Tensor: (B, L, E) or (B, E, H, W), the layout of the inputs.
    """
    check_float('x', x, 3, 4)
    check_float('value', value, x.dim())
    check_like('value', value, 'x', x)
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
    gamma = check_positive('gamma', gamma)
    module = backend_module(resolve_backend(backend, x.device, x.dtype,
                                            (x.shape[2], value.shape[2])))
    y = module.propagation(normalize_pixels(x), value, gamma)
    if maps:
        y = y.transpose(1, 2).reshape(batch, channels, height, width)
    return y
