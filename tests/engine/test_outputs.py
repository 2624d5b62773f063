"""check_output refuses inputs, existing files and unwritable folders; atomic_write keeps the
old file when writing fails."""
import os

import pytest

from densecl.engine import atomic_write, check_output


def test_an_input_is_refused_even_with_force(tmp_path):
    source = tmp_path / 'ck.pth'
    source.write_bytes(b'weights')
    with pytest.raises(ValueError, match='ck.pth is also an input'):
        check_output(str(source), [str(source)], force=True)
    link = tmp_path / 'link.pth'
    link.symlink_to(source)
    with pytest.raises(ValueError, match='also an input'):
        check_output(str(link), [str(source)], force=True)
    with pytest.raises(ValueError, match='also an input'):  # another spelling of the same path
        check_output(str(tmp_path / '.' / 'ck.pth'), [str(source)])


def test_existing_file_needs_force_and_a_folder_is_refused(tmp_path):
    out = tmp_path / 'out.pth'
    check_output(str(out))  # new file: fine
    out.write_bytes(b'old')
    with pytest.raises(FileExistsError, match='out.pth exists; pass --force'):
        check_output(str(out))
    check_output(str(out), force=True)
    with pytest.raises(IsADirectoryError, match='is a folder'):
        check_output(str(tmp_path), force=True)
    with pytest.raises(NotADirectoryError, match='out.pth is a file'):
        check_output(str(out / 'x.pth'))


def test_unwritable_folder_is_refused(tmp_path, monkeypatch):
    # as root every folder is writable, so the permission answer is simulated.
    monkeypatch.setattr(os, 'access', lambda path, mode: path != str(tmp_path))
    with pytest.raises(PermissionError, match=f'cannot write into {tmp_path}$'):
        check_output(str(tmp_path / 'sub' / 'out.json'))


def test_atomic_write_replaces_on_success_and_keeps_the_old_file_on_error(tmp_path):
    path = tmp_path / 'results.json'
    path.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_write(str(path)) as f:
            f.write('half of the new')
            raise RuntimeError('disk full')
    assert path.read_text() == 'old'
    assert os.listdir(tmp_path) == ['results.json']  # no temporary file left
    with atomic_write(str(path)) as f:
        f.write('new')
    assert path.read_text() == 'new'
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
