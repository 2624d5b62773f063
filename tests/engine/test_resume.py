"""Choosing the checkpoint --resume continues from."""
import pytest
import torch

from densecl.engine import find_resume_checkpoint


def save(path, step):
    torch.save({'meta': {'iter': step}, 'state_dict': {}}, path)
    return str(path)


def test_newest_by_number_not_by_name_order(tmp_path):
    for step in (2, 10, 4):
        save(tmp_path / f'iter_{step}.pth', step)
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path /
                                                        'iter_10.pth')


def test_truncated_newest_falls_back_to_intact(tmp_path):
    intact = save(tmp_path / 'iter_2.pth', 2)
    broken = save(tmp_path / 'iter_4.pth', 4)
    with open(broken, 'r+b') as f:
        f.truncate(100)
    assert find_resume_checkpoint(str(tmp_path)) == intact


def test_last_checkpoint_pointer_is_a_candidate(tmp_path):
    named = save(tmp_path / 'latest.pth', 1)
    save(tmp_path / 'iter_2.pth', 2)
    (tmp_path / 'last_checkpoint').write_text(named)
    assert find_resume_checkpoint(str(tmp_path)) == named


def test_pointer_of_a_copied_folder_is_ignored(tmp_path):
    original, copy = tmp_path / 'original', tmp_path / 'copy'
    original.mkdir()
    copy.mkdir()
    pointed = save(original / 'iter_4.pth', 4)
    (copy / 'last_checkpoint').write_text(pointed)
    own = save(copy / 'iter_2.pth', 2)
    assert find_resume_checkpoint(str(copy)) == own


@pytest.mark.parametrize('files', [[], ['notes.txt'], ['iter_2.pth']])
def test_nothing_to_resume_from(tmp_path, files):
    for name in files:
        (tmp_path / name).write_bytes(b'not a zip archive')
    with pytest.raises(FileNotFoundError, match='nothing to resume from'):
        find_resume_checkpoint(str(tmp_path))
