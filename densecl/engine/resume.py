"""Find the checkpoint ``--resume`` continues from.

mmengine resumes from the file named in ``work_dir/last_checkpoint``; without
that file it silently starts a new run that overwrites the folder's
checkpoints, and a truncated file stops it with torch's zip error. Here the
newest intact checkpoint of the folder is chosen instead, or an error says
that there is nothing to resume from.
"""
import glob
import logging
import os.path as osp
import re

from mmengine.logging import print_log

from ..compat import CorruptCheckpointError, checkpoint_format

NUMBERED_CHECKPOINT = re.compile(r'_(\d+)\.pth$')


def is_intact(path):
    """Whether ``path`` is a complete ``torch.save`` zip archive whose members all
    pass their CRC check."""
    try:
        return checkpoint_format(path) == 'zip'
    except CorruptCheckpointError:
        return False


def checkpoints_newest_first(work_dir):
    """Numbered checkpoints (``iter_N.pth``, ``epoch_N.pth``) of ``work_dir``
    by decreasing N; the file named in ``last_checkpoint`` is included (first
    when its name has no number) if it lies in ``work_dir``: a copied folder's
    pointer names the original folder's file."""
    paths = {
        osp.realpath(path): path
        for path in glob.glob(osp.join(work_dir, '*.pth'))
        if NUMBERED_CHECKPOINT.search(path)
    }
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            last = f.read().strip()
        inside = osp.dirname(osp.realpath(last)) == osp.realpath(work_dir)
        if inside and osp.isfile(last):
            paths.setdefault(osp.realpath(last), last)

    def number(path):
        match = NUMBERED_CHECKPOINT.search(path)
        return int(match.group(1)) if match else float('inf')

    return sorted(paths.values(), key=number, reverse=True)


def find_resume_checkpoint(work_dir):
    """Return the newest intact checkpoint of ``work_dir``, warning about the
    newer broken ones it skips.

    Raises:
        FileNotFoundError: when ``work_dir`` holds no intact checkpoint.
    """
    broken = []
    for path in checkpoints_newest_first(work_dir):
        if is_intact(path):
            if broken:
                print_log(
                    f'--resume: {", ".join(broken)} is truncated or corrupt; '
                    f'resuming from {path}, the newest intact checkpoint',
                    logger='current', level=logging.WARNING)
            return path
        broken.append(path)
    found = (f' ({", ".join(broken)} truncated or corrupt)'
             if broken else '')
    raise FileNotFoundError(
        f'--resume: nothing to resume from in {work_dir}: no intact '
        f'checkpoint{found}; check --work-dir, or train without --resume to '
        'start a new run')
