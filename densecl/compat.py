"""Which OpenMMLab stack is installed, and a safe checkpoint loader for both.

densecl runs on two stacks that share import names (``mmengine``, ``mmcv``,
``mmseg``): the maintained ``onedl-*`` packages and upstream mmcv 2.1.0 +
mmsegmentation 1.2.2. This module finds out which one is present, fails with
one clear message when none is, and provides a checkpoint loader that keeps
``torch.load(weights_only=True)`` while allowing exactly the types that
mmengine's own checkpoints contain, so that ``--resume`` works with
torch >= 2.6 on both stacks and foreign pickled objects are still refused.
``import densecl`` installs it (:func:`install_checkpoint_loader`).
"""
import os.path as osp
import pickle
from importlib import metadata

import numpy as np
import torch

INSTALL_HINT = ('densecl needs one OpenMMLab stack; install the package with '
                'one of:\n'
                "  pip install -e '.[onedl]'     # maintained onedl-* "
                'packages (default)\n'
                '  make test-upstream            # upstream mmcv 2.1.0 + '
                'mmsegmentation 1.2.2, built with ops (needs a compiler)')

_STACK_DISTRIBUTIONS = {
    'onedl': 'onedl-mmsegmentation',
    'upstream': 'mmsegmentation',
}


def _installed(distribution):
    try:
        metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def detect_stack():
    """Return ``'onedl'`` or ``'upstream'``: the distribution behind mmseg.

    Raises:
        ImportError: when mmseg cannot be imported, with the install commands.
    """
    try:
        import mmseg  # noqa: F401
    except ImportError as error:
        raise ImportError(f'{error}\n{INSTALL_HINT}') from error
    for stack, distribution in _STACK_DISTRIBUTIONS.items():
        if _installed(distribution):
            return stack
    raise ImportError('mmseg is importable but neither onedl-mmsegmentation '
                      f'nor mmsegmentation is installed.\n{INSTALL_HINT}')


def mmengine_checkpoint_globals():
    """The non-tensor types found in checkpoints written by mmengine's Runner.

    The message hub stores :class:`HistoryBuffer` objects holding numpy arrays,
    numpy scalars and their statistics methods; everything else is made of dicts, lists, tuples,
    strings, numbers and tensors, which ``weights_only`` allows already.
    """
    from mmengine.logging import HistoryBuffer
    dtype_types = {type(np.dtype(t)) for t in np.sctypeDict.values()}
    array_functions = [np._core.multiarray._reconstruct, np._core.multiarray.scalar]
    return [
        HistoryBuffer, np.ndarray, np.dtype, *array_functions,
        *sorted(dtype_types, key=str), (_history_buffer_statistic, 'builtins.getattr'),
        # numpy 1.x named its core module numpy.core: same functions, old names.
        *[(f, f'numpy.core.multiarray.{f.__name__}') for f in array_functions]
    ]


def _history_buffer_statistic(owner, name):
    """The one ``getattr`` a checkpoint may use: HistoryBuffer pickles its
    statistics methods (``min``, ``mean``...) as ``getattr(HistoryBuffer, name)``.
    """
    from mmengine.logging import HistoryBuffer
    if owner is HistoryBuffer and not name.startswith('_') and callable(
            vars(HistoryBuffer).get(name)):
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not part of an mmengine checkpoint')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds pickled objects outside mmengine's checkpoint types."""


def safe_load_checkpoint(filename, map_location=None):
    """``torch.load`` with ``weights_only=True`` and mmengine's types allowed.

    Raises:
        FileNotFoundError: when the file does not exist.
        UnsafeCheckpointError: when the file pickles any other object.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    with torch.serialization.safe_globals(mmengine_checkpoint_globals()):
        try:
            return torch.load(
                filename, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as error:
            raise UnsafeCheckpointError(
                f'Refusing to load checkpoint {filename}: it contains pickled '
                'objects that are not part of an mmengine checkpoint, and '
                'loading them could run arbitrary code. Load it yourself with '
                "torch.load(..., weights_only=False) only if you trust it. "
                f'Details: {error}') from error


def install_checkpoint_loader():
    """Make mmengine load local checkpoints through ``safe_load_checkpoint``.

    mmengine 0.10.7 calls ``torch.load`` without ``weights_only`` (refused by
    torch >= 2.6 for its message hub); onedl-mmengine falls back to
    ``weights_only=False`` on failure. Both are replaced by the same safe
    loader for paths without a URL scheme.
    """
    from mmengine.runner import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=safe_load_checkpoint, force=True)


MM_STACK = detect_stack()
