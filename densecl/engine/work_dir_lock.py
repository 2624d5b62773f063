"""One training per work dir.

Two runs training into one work dir interleave their checkpoints and write
one log. ``tools/train.py`` therefore holds ``<work_dir>/train.lock`` while it
runs: an exclusive ``flock`` (the kernel drops it when the process ends, even
when killed) on a file that names the holder's PID and host, for the message
that refuses a second run. A lock file left by a killed run on this host is
taken over with a warning; one left on another host is refused, since its PID
cannot be checked from here.
"""
import contextlib
import fcntl
import json
import logging
import os
import os.path as osp
import socket

from mmengine.logging import print_log

LOCK_NAME = 'train.lock'
# Environment variable holding the global rank, per --launcher; every rank of a
# distributed run shares the work dir, and only rank 0 locks it.
RANK_VARIABLES = dict(pytorch='RANK', slurm='SLURM_PROCID', mpi='OMPI_COMM_WORLD_RANK')
WAIT = 'wait for it to end, or choose another --work-dir'


class WorkDirLockedError(RuntimeError):
    """Another training holds the work dir."""


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _holder(fd):
    """The ``{'pid', 'host'}`` written in the lock file, None when it is empty or garbled."""
    with open(fd, closefd=False) as f:
        f.seek(0)
        try:
            holder = json.load(f)
        except ValueError:
            return None
    return holder if isinstance(holder, dict) and {'pid', 'host'} <= set(holder) else None


def _refusal(work_dir, path, holder, hint):
    who = f"PID {holder['pid']} on host {holder['host']}" if holder else 'another process'
    return WorkDirLockedError(f'work dir {work_dir} is in use by another training ({who} holds '
                              f'{path}); {hint}')


def _lock_file(path):
    """Open ``path`` and try an exclusive flock: (descriptor, whether it is ours)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return fd, False
        try:
            if osp.samestat(os.fstat(fd), os.stat(path)):
                return fd, True
        except FileNotFoundError:
            pass
        os.close(fd)  # its holder removed the file meanwhile: lock the new one


def _take_over(work_dir, path, fd):
    """Refuse a lock file naming a live run (or one on another host); warn when it
    names a dead one."""
    holder = _holder(fd)
    if holder is None:
        return
    if holder['host'] != socket.gethostname():
        raise _refusal(work_dir, path, holder, 'remove that file if that run has ended')
    if _pid_alive(holder['pid']):
        raise _refusal(work_dir, path, holder, WAIT)
    print_log(f"work dir {work_dir}: taking over the lock of PID {holder['pid']}, which no "
              'longer runs (a killed training)', logger='current', level=logging.WARNING)


def _is_first_rank(launcher):
    return launcher not in RANK_VARIABLES or int(os.environ.get(RANK_VARIABLES[launcher], 0)) == 0


@contextlib.contextmanager
def work_dir_lock(work_dir, launcher='none'):
    """Hold ``work_dir``'s training lock while the block runs (rank 0 of a distributed
    run only); the lock file is removed when the block ends, by an exception too.

    Raises:
        WorkDirLockedError: another live training holds ``work_dir``, naming its PID.
    """
    if not _is_first_rank(launcher):
        yield
        return
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    fd, locked = _lock_file(path)
    try:
        if not locked:
            raise _refusal(work_dir, path, _holder(fd), WAIT)
        _take_over(work_dir, path, fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(dict(pid=os.getpid(), host=socket.gethostname())).encode(), 0)
        try:
            yield
        finally:
            os.remove(path)
    finally:
        os.close(fd)
