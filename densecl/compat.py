"""Which OpenMMLab stack is installed, and a safe checkpoint loader for both.

densecl runs on two stacks that share import names (``mmengine``, ``mmcv``,
``mmseg``): the maintained ``onedl-*`` packages and upstream mmcv 2.1.0 +
mmsegmentation 1.2.2. This module finds out which one is present, fails with
one clear message when none is, and provides a checkpoint loader that keeps
``torch.load(weights_only=True)`` while allowing exactly the types that
mmengine's own checkpoints contain, so that ``--resume`` works with
torch >= 2.6 on both stacks and foreign pickled objects are still refused.
A file that is empty, truncated or not a checkpoint at all fails with one
message naming the file and the problem. ``import densecl`` installs it
(:func:`install_checkpoint_loader`). Importing it also imports mmseg's
datasets and models without the onedl stack's notices about optional parts
densecl does not use (:func:`import_mmseg_quietly`).
"""
import contextlib
import io
import os.path as osp
import pickle
import re
import struct
import sys
import warnings
import zipfile
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


# onedl-mmsegmentation prints this line (print_log at DEBUG level, but without a
# logger, i.e. a plain print) from mmseg.datasets and mmseg.datasets.transforms
# when its optional OneDL dataset cannot import mmpretrain.
ONEDL_NOTICE = 'Could not import OneDL'
# onedl-mmcv has no compiled ops (like mmcv-lite); mmseg.models imports
# mmcv.cnn.bricks.transformer, which warns that one of them is missing.
MMCV_OPS_WARNING = 'Fail to import ``MultiScaleDeformableAttention``'


def import_mmseg_quietly():
    """Import ``mmseg.datasets`` and ``mmseg.models`` without the two notices above.

    Neither missing part is used by densecl (it never imports ``mmcv.ops``).
    Only those exact messages are dropped: any other output of the import is
    written as it came, and errors raise as usual. The warning filter stays
    (the warning is only given once, on import); warnings.catch_warnings would
    undo the filters that torch and numpy install while mmseg imports them.
    """
    warnings.filterwarnings('ignore', message=re.escape(MMCV_OPS_WARNING),
                            category=UserWarning, module=r'mmcv\.cnn\.bricks\.transformer')
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            import mmseg.datasets  # noqa: F401
            import mmseg.models  # noqa: F401
    finally:
        sys.stdout.write(''.join(line for line in out.getvalue().splitlines(keepends=True)
                                 if line.rstrip('\n') != ONEDL_NOTICE))


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


class CorruptCheckpointError(ValueError):
    """A checkpoint file is empty, truncated or corrupt, or no checkpoint at all."""


ZIP_MAGIC = b'PK\x03\x04'
# What torch.load reports for a legacy (torch < 1.6) file that ends too early.
LEGACY_READ_ERRORS = (EOFError, IndexError, RuntimeError, struct.error)


def _zip_problem(filename):
    """What is wrong with a zip file as a ``torch.save`` archive, or None."""
    try:
        with zipfile.ZipFile(filename) as archive:
            broken = archive.testzip()
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        return ('it is a truncated or corrupt zip archive (cut short by an interrupted '
                'save or copy, or damaged)')
    if broken is not None:
        return f'it is a corrupt zip archive ({broken} fails its CRC check)'
    if not any(osp.basename(name) == 'data.pkl' for name in names):
        return 'it is a zip archive but not one written by torch.save (no data.pkl)'
    return None


def checkpoint_format(filename):
    """``'zip'`` (``torch.save``'s format) or ``'legacy'`` (its torch < 1.6 pickle format).

    The zip archive is checked whole (CRC of every member), so that a
    truncated or damaged file is named as such instead of failing inside
    torch with a message that does not name it.

    Raises:
        CorruptCheckpointError: when the file is empty, a truncated or
            corrupt archive, or not a PyTorch checkpoint at all.
    """
    with open(filename, 'rb') as f:
        head = f.read(len(ZIP_MAGIC))
    if not head:
        problem = 'the file is empty (0 bytes)'
    elif head == ZIP_MAGIC:
        problem = _zip_problem(filename)
    elif head[:1] != pickle.PROTO:
        problem = ("it is not a PyTorch checkpoint (neither torch.save's zip archive "
                   'nor its legacy pickle format)')
    else:
        return 'legacy'
    if problem is not None:
        raise CorruptCheckpointError(f'Cannot load checkpoint {filename}: {problem}')
    return 'zip'


def _refusal(error):
    """What torch's weights-only unpickler refused, without torch's advice to
    load the file anyway (``weights_only=False``, allow-listing)."""
    message = str(error)
    unsafe_global = re.search(r'GLOBAL (\S+) was not an allowed global', message)
    if unsafe_global:
        return f'{unsafe_global.group(1)} is not an allowed type'
    reasons = [line.strip() for line in message.splitlines()
               if line.strip() and not re.search(r'weights.only|torch\.load|safe_globals',
                                                 line, re.IGNORECASE)]
    return reasons[0] if reasons else 'the weights-only unpickler refused it'


def safe_load_checkpoint(filename, map_location=None):
    """``torch.load`` with ``weights_only=True`` and mmengine's types allowed.

    Raises:
        FileNotFoundError: when the file does not exist.
        CorruptCheckpointError: when the file is empty, truncated or corrupt,
            or not a checkpoint at all.
        UnsafeCheckpointError: when the file pickles any other object.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    legacy = checkpoint_format(filename) == 'legacy'
    with torch.serialization.safe_globals(mmengine_checkpoint_globals()):
        try:
            return torch.load(
                filename, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as error:
            # from None: torch's own message advises weights_only=False.
            raise UnsafeCheckpointError(
                f'Refusing to load checkpoint {filename}: it contains pickled '
                'objects that are not part of an mmengine checkpoint '
                f'({_refusal(error)}), and loading them could run arbitrary '
                'code') from None
        except LEGACY_READ_ERRORS as error:
            if not legacy:
                raise
            raise CorruptCheckpointError(
                f'Cannot load checkpoint {filename}: its legacy-format data is '
                f'truncated or corrupt ({type(error).__name__}: {error})') from None


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
import_mmseg_quietly()
