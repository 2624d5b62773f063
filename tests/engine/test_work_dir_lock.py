"""work_dir_lock: one training per work dir, stale locks of killed runs taken over."""
import json
import os
import socket
import subprocess
import sys

import pytest

from densecl.engine import work_dir_lock
from densecl.engine.work_dir_lock import LOCK_NAME, WorkDirLockedError


def dead_pid():
    """The PID of a process that has ended."""
    child = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


def write_lock(work_dir, pid, host=None):
    work_dir.mkdir(exist_ok=True)
    (work_dir / LOCK_NAME).write_text(json.dumps(dict(pid=pid, host=host or socket.gethostname())))


def test_a_held_work_dir_is_refused_with_its_pid_and_freed_after(tmp_path):
    work_dir = tmp_path / 'work'
    with work_dir_lock(str(work_dir)):
        holder = json.loads((work_dir / LOCK_NAME).read_text())
        assert holder == dict(pid=os.getpid(), host=socket.gethostname())
        with pytest.raises(WorkDirLockedError,
                           match=f'work dir {work_dir} .*PID {os.getpid()} on host'):
            with work_dir_lock(str(work_dir)):
                pass
    assert os.listdir(work_dir) == []
    with work_dir_lock(str(work_dir)):
        pass


def test_the_lock_is_released_on_keyboard_interrupt(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with work_dir_lock(str(tmp_path)):
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_the_lock_file_of_a_killed_run_is_taken_over(tmp_path):
    write_lock(tmp_path, dead_pid())
    with work_dir_lock(str(tmp_path)):
        assert json.loads((tmp_path / LOCK_NAME).read_text())['pid'] == os.getpid()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('host, hint', [(None, 'wait for it to end'),
                                        ('elsewhere', 'remove that file')])
def test_a_lock_file_naming_a_live_or_remote_run_is_refused(tmp_path, host, hint):
    # no flock held: a file system without flock, or a run on another host
    write_lock(tmp_path, os.getppid(), host)
    with pytest.raises(WorkDirLockedError, match=f'PID {os.getppid()} .*{hint}'):
        with work_dir_lock(str(tmp_path)):
            pass
    assert json.loads((tmp_path / LOCK_NAME).read_text())['pid'] == os.getppid()


def test_only_rank_zero_of_a_distributed_run_locks(tmp_path, monkeypatch):
    monkeypatch.delenv('RANK', raising=False)
    with work_dir_lock(str(tmp_path), launcher='pytorch'):  # rank 0
        monkeypatch.setenv('RANK', '1')
        with work_dir_lock(str(tmp_path), launcher='pytorch'):
            pass
    assert os.listdir(tmp_path) == []
