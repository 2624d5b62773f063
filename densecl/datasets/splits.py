"""Labelled / unlabelled splits of real datasets as mmseg ``ann_file`` lists.

Semi-supervised results are only comparable on the same labelled images, so
the published splits (UniMatch / CPS: ``JPEGImages/x.jpg SegmentationClass/x.png``
per line, paths relative to the dataset root) are converted to the stems that
:class:`mmseg.datasets.BaseSegDataset` reads from ``ann_file`` (the image path
relative to ``data_prefix['img_path']``, without ``img_suffix``). Datasets
without a published split get a seeded one. Every mismatch raises instead of
producing a split of other images than the ones asked for.
"""
import hashlib
import os
import os.path as osp
import posixpath
from fractions import Fraction


def _clean_dir(img_dir):
    """``img_dir`` in the '/'-separated form of the split files, '' for the root."""
    folder = posixpath.normpath(img_dir.replace('\\', '/')).strip('/')
    return '' if folder == '.' else folder


def published_split_to_ann_lines(lines, img_dir, img_suffix):
    """The ann_file stems of published split lines.

    A line holds the image path (and usually the label path) relative to the
    dataset root; only the first path is used. Blank lines are skipped.

    Args:
        lines (Iterable[str]): lines of a published split file.
        img_dir (str): image folder relative to the dataset root, e.g. ``JPEGImages``.
        img_suffix (str): image ending that mmseg appends, e.g. ``.jpg``.

    Returns:
        list[str]: one stem per non-blank line, in file order.

    Raises:
        ValueError: naming the line number and line whose image is not under
            ``img_dir`` or does not end with ``img_suffix``.
    """
    prefix = _clean_dir(img_dir)
    prefix = f'{prefix}/' if prefix else ''
    stems = []
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        path = posixpath.normpath(fields[0])
        if not path.startswith(prefix) or path.startswith(('/', '../')):
            raise ValueError(f'line {number}, {line.strip()!r}: the image is not under '
                             f'{img_dir!r}')
        stem = path[len(prefix):]
        if not stem.endswith(img_suffix) or len(stem) == len(img_suffix):
            raise ValueError(f'line {number}, {line.strip()!r}: the image does not end '
                             f'with {img_suffix!r}')
        stems.append(stem[:-len(img_suffix)])
    return stems


def _num_labeled(num_labeled, total):
    """``num_labeled`` (a count, or a fraction as '1/8' or a float) as a count of ``total``."""
    if isinstance(num_labeled, bool):
        raise ValueError(f'num_labeled must be a count or a fraction, got {num_labeled!r}')
    if isinstance(num_labeled, str):
        try:
            value = Fraction(num_labeled.strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(f'num_labeled {num_labeled!r} is neither a count nor a '
                             f'fraction such as 1/8') from None
    else:
        value = Fraction(num_labeled)
    if 0 < value < 1:
        return max(1, round(total * value))
    if value.denominator != 1:
        raise ValueError(f'num_labeled {num_labeled!r} is neither a whole count nor a '
                         f'fraction in (0, 1)')
    return int(value)


def seeded_split(stems, num_labeled, seed):
    """A reproducible random choice of ``num_labeled`` labelled stems; the rest unlabelled.

    Stems are ranked by the sha256 of ``seed`` and the stem, so the split
    depends neither on the input order nor on the Python / numpy version, and
    the labelled set of a seed grows by adding images (1/16 inside 1/8).

    Args:
        stems (Iterable[str]): all stems, e.g. from :func:`list_stems`.
        num_labeled (int | float | str): a count, or a fraction of the stems
            ('1/8', 0.125), rounded and at least 1.
        seed (int): the seed of the choice.

    Returns:
        tuple[list[str], list[str]]: labelled and unlabelled stems, each sorted.

    Raises:
        ValueError: on duplicate stems, or a count below 1 or above the number of stems.
    """
    stems = sorted(stems)
    duplicates = sorted({a for a, b in zip(stems, stems[1:]) if a == b})
    if duplicates:
        raise ValueError(f'{len(duplicates)} stems are listed twice, e.g. {duplicates[:3]}')
    count = _num_labeled(num_labeled, len(stems))
    if count > len(stems):
        raise ValueError(f'num_labeled {count} is larger than the number of stems, '
                         f'{len(stems)}')
    if count < 1:
        raise ValueError(f'num_labeled {count} is below 1 (of {len(stems)} stems)')
    ranked = sorted(stems, key=lambda stem: hashlib.sha256(f'{seed}:{stem}'.encode()).digest())
    return sorted(ranked[:count]), sorted(ranked[count:])


def list_stems(data_root, img_dir, img_suffix):
    """Sorted stems of all ``img_suffix`` files under ``data_root/img_dir`` (recursive).

    Paths use '/' and keep subfolders, e.g. Cityscapes' ``aachen/aachen_000000_000019``.

    Raises:
        FileNotFoundError: naming the folder when it does not exist.
        ValueError: when it holds no file ending in ``img_suffix``.
    """
    folder = osp.join(data_root, img_dir)
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder {folder} does not exist')
    stems = []
    for dirpath, _, names in os.walk(folder, followlinks=True):
        rel = osp.relpath(dirpath, folder)
        for name in names:
            if name.endswith(img_suffix) and len(name) > len(img_suffix):
                path = name if rel == '.' else osp.join(rel, name)
                stems.append(path[:-len(img_suffix)].replace(os.sep, '/'))
    if not stems:
        raise ValueError(f'image folder {folder} holds no file ending in {img_suffix!r}')
    return sorted(stems)


def check_stems_exist(stems, data_root, img_dir, img_suffix):
    """Raise FileNotFoundError, with how many and the first few, when images are missing.

    Converting a split for another dataset copy or version would otherwise
    only fail when the training run first draws the missing image.
    """
    folder = osp.join(data_root, img_dir)
    stems = list(stems)
    missing = [
        osp.join(folder, stem + img_suffix) for stem in stems
        if not osp.isfile(osp.join(folder, stem + img_suffix))
    ]
    if missing:
        raise FileNotFoundError(f'{len(missing)} of {len(stems)} images are missing, e.g. '
                                f'{", ".join(missing[:3])}')


def write_ann_file(path, stems):
    """Write ``stems`` one per line to ``path`` (folders created), an mmseg ann_file."""
    folder = osp.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, 'w') as f:
        f.writelines(f'{stem}\n' for stem in stems)
