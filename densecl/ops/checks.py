"""Argument checks shared by the public functions: each error names the argument."""
import numbers

import torch

REDUCTIONS = ('mean', 'sum', 'none')
FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_float(name, tensor, *ndims):
    """A floating-point tensor of an allowed dtype with one of ``ndims`` dims."""
    if not isinstance(tensor, torch.Tensor) or tensor.dtype not in FLOAT_DTYPES:
        got = tensor.dtype if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise ValueError(f'{name} must be a float16/bfloat16/float32/float64 tensor, got {got}')
    if tensor.dim() not in ndims:
        dims = ' or '.join(f'{n}-D' for n in ndims)
        raise ValueError(f'{name} must be {dims}, got shape {tuple(tensor.shape)}')


def check_like(name, tensor, ref_name, ref):
    """Same dtype and device as ``ref``."""
    if tensor.dtype != ref.dtype:
        raise ValueError(f'{name} has dtype {tensor.dtype} but {ref_name} has {ref.dtype}')
    if tensor.device != ref.device:
        raise ValueError(f'{name} is on {tensor.device} but {ref_name} is on {ref.device}')


def check_feature_dim(name, tensor, ref_name, ref):
    if tensor.shape[-1] != ref.shape[-1]:
        raise ValueError(f'{name} has feature dim {tensor.shape[-1]} but {ref_name} has '
                         f'{ref.shape[-1]}')


def check_index(name, tensor, length, ref_name, ref, dtype_kind='integer'):
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


def check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f'{name} must be a positive number, got {value!r}')
    return float(value)


def check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')


def check_prototypes(f, mu, var):
    """(N, D) features, (K, D) means and optional (K, D) variances alike."""
    check_float('f', f, 2)
    check_float('mu', mu, 2)
    check_like('mu', mu, 'f', f)
    check_feature_dim('mu', mu, 'f', f)
    if var is not None:
        check_float('var', var, 2)
        check_like('var', var, 'f', f)
        if var.shape != mu.shape:
            raise ValueError(f'var must have the shape of mu {tuple(mu.shape)}, '
                             f'got {tuple(var.shape)}')


def check_labelled_set(z, labels, extra, extra_labels):
    """(N, D) embeddings with (N,) labels, and an optional (M, D) extra set with its labels."""
    check_float('z', z, 2)
    check_index('labels', labels, z.shape[0], 'z', z)
    if (extra is None) != (extra_labels is None):
        raise ValueError('extra and extra_labels must be given together, got only '
                         + ('extra' if extra_labels is None else 'extra_labels'))
    if extra is not None:
        check_float('extra', extra, 2)
        check_like('extra', extra, 'z', z)
        check_feature_dim('extra', extra, 'z', z)
        check_index('extra_labels', extra_labels, extra.shape[0], 'extra', extra)


def check_label_range(name, labels, num_classes, ignore_index):
    """Every label is in [0, num_classes) or ``ignore_index``.

    Checked on the host (one device sync) because the labels are used as
    indices: an index of -1 would silently pick the last class on the fused
    paths.
    """
    bad = labels[(labels != ignore_index) & ((labels < 0) | (labels >= num_classes))]
    if bad.numel():
        raise ValueError(f'{name} must be in [0, {num_classes}) or ignore_index '
                         f'({ignore_index}), got {bad[0].item()}')
