"""Writing a tool's outputs without losing the user's files.

Every tool that writes a file checks it first with :func:`check_output` (never
one of its own inputs, never an existing file unless the user passed
``--force``, a folder that can be written) and writes it with
:func:`atomic_write`, so an interrupted or failed write (a full disk) leaves
the previous file intact instead of a truncated one.
"""
import contextlib
import os
import os.path as osp
import tempfile


def _same_file(a, b):
    if osp.exists(a) and osp.exists(b):
        return osp.samefile(a, b)
    return osp.realpath(a) == osp.realpath(b)


def check_output(path, inputs=(), force=False, what='output'):
    """Refuse to write ``path`` when it is one of ``inputs``, an existing file without
    ``force``, a folder, or in a folder that cannot be written.

    Raises:
        ValueError: ``path`` is one of ``inputs`` (whatever ``force`` says).
        FileExistsError: ``path`` exists and ``force`` is false.
        IsADirectoryError: ``path`` is a folder.
        PermissionError: the folder of ``path`` cannot be written.
    """
    for source in inputs:
        if _same_file(path, source):
            raise ValueError(f'{what} {path} is also an input ({source}): writing it would '
                             'replace the input; choose another output path')
    if osp.isdir(path):
        raise IsADirectoryError(f'{what} {path} is a folder; give a file name')
    if osp.exists(path) and not force:
        raise FileExistsError(f'{what} {path} exists; pass --force to overwrite it')
    folder = osp.dirname(osp.abspath(path))
    existing = folder
    while not osp.isdir(existing):  # the first folder that exists must let us create the rest
        if osp.exists(existing):
            raise NotADirectoryError(f'{what} {path}: {existing} is a file, not a folder')
        existing = osp.dirname(existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f'{what} {path}: cannot write into {existing}')


@contextlib.contextmanager
def atomic_write(path, mode='w'):
    """Open a temporary file beside ``path``; on success it replaces ``path`` in one
    rename, on any error it is removed and ``path`` keeps its old content."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{osp.basename(path)}.', suffix='.tmp')
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would outlive the rename
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
