"""Build PASCAL VOC 2012 "aug" labels (VOC + SBD) as mmseg reads them.

From the folders the official downloads unpack to, VOCtrainval_11-May-2012.tar
(``VOCdevkit/VOC2012``) and SBD's benchmark.tgz (``benchmark_RELEASE``)::

    python tools/convert_voc_aug.py data/VOCdevkit data/benchmark_RELEASE --nproc 8

writes

* ``VOC2012/SegmentationClassAug/<id>.png``: single-channel uint8 class indices
  (0 background, 1-20 classes, 255 void) of every image of SBD train + val and
  VOC train + val (12,031 on the real data);
* ``VOC2012/ImageSets/Segmentation/trainaug.txt``: the training list, SBD train +
  val + VOC train minus VOC val, sorted (10,582 ids on the real data).

Where VOC labels an image, its label is kept and SBD's is not used: VOC's are
the finer annotations with 255 on object boundaries, and both mmseg (its
pascal_voc12_aug config reads VOC train from SegmentationClass) and UniMatch
(labelled images taken from VOC's "high-quality" train set) train on them.
SBD's labels (no void pixels) fill the other images. The list has the name and
the ids of mmseg's own converter's trainaug.txt; mmseg's SegmentationClassAug
holds SBD's labels only (its config reads VOC train separately), so do not
mix the two converters' folders.

Labels already written are kept unless ``--force``. Only numpy, Pillow and
scipy (for SBD's MATLAB files) are needed.
"""
import argparse
import multiprocessing
import os
import os.path as osp
import sys

import numpy as np
from PIL import Image

NUM_CLASSES = 21
VOID = 255
OUT_DIR = 'SegmentationClassAug'
AUG_LIST = 'trainaug.txt'
AUG_LEN = 10582  # SBD train + val + VOC train - VOC val on the official releases


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('voc', help='VOCdevkit folder (holding VOC2012), or VOC2012 itself')
    parser.add_argument('sbd', help="SBD's benchmark_RELEASE folder, or its dataset folder")
    parser.add_argument('--nproc', type=int, default=1, help='worker processes (default 1)')
    parser.add_argument('--force', action='store_true',
                        help='rewrite labels that SegmentationClassAug already holds')
    args = parser.parse_args(argv)
    if args.nproc < 1:
        parser.error('--nproc must be at least 1')
    return args


def find_root(path, child, marker, what):
    """``path/child`` or ``path`` itself, whichever holds ``marker``; else FileNotFoundError."""
    for candidate in (osp.join(path, child), path):
        if osp.isdir(osp.join(candidate, marker)):
            return candidate
    if not osp.isdir(path):
        raise FileNotFoundError(f'{what} folder {path} does not exist')
    raise FileNotFoundError(f'{what} folder {path} holds neither {osp.join(child, marker)} '
                            f'nor {marker}')


def require(path, what):
    """``path`` if it exists, else FileNotFoundError naming it."""
    if not osp.exists(path):
        raise FileNotFoundError(f'{what} {path} does not exist')
    return path


def read_ids(path):
    """Image ids of a VOC / SBD list file, one per non-blank line."""
    with open(require(path, 'list file')) as f:
        return [line.strip() for line in f if line.strip()]


def read_voc_png(path):
    """Class indices of a VOC label PNG (palette indices, not colours)."""
    with Image.open(path) as img:
        if img.mode not in ('P', 'L'):
            raise ValueError(f'{path}: label PNG of mode {img.mode}; VOC ships palette (P) '
                             f'PNGs whose indices are the classes, colours cannot be read')
        return np.array(img)


def read_sbd_mat(path):
    """``GTcls.Segmentation`` of an SBD ``cls/*.mat`` file."""
    try:
        from scipy.io import loadmat
    except ImportError:
        raise ImportError('reading SBD .mat labels needs scipy: pip install scipy') from None
    data = loadmat(path, squeeze_me=True, struct_as_record=False)
    if 'GTcls' not in data or not hasattr(data['GTcls'], 'Segmentation'):
        raise ValueError(f'{path}: no GTcls.Segmentation, not an SBD cls/ label file')
    return np.asarray(data['GTcls'].Segmentation)


def convert_one(task):
    """Write one label PNG; returns (source, written) with written False when skipped."""
    source, src, img_path, out, force = task
    if not force and osp.exists(out):
        return source, False
    seg = read_voc_png(src) if source == 'voc' else read_sbd_mat(src)
    values = np.unique(seg)
    bad = values[(values >= NUM_CLASSES) & (values != VOID)]
    if seg.ndim != 2 or bad.size or values.min() < 0:
        raise ValueError(f'{src}: not a 2-D map of classes 0-{NUM_CLASSES - 1} and {VOID} '
                         f'(shape {seg.shape}, values {values.tolist()[:10]})')
    with Image.open(img_path) as img:
        width, height = img.size
    if seg.shape != (height, width):
        raise ValueError(f'{src}: label of shape {seg.shape}, image {img_path} of '
                         f'{(height, width)}')
    # write then rename, so an interrupted run leaves no truncated PNG to be skipped later
    tmp = f'{out}.{os.getpid()}.tmp'
    Image.fromarray(seg.astype(np.uint8)).save(tmp, format='PNG')
    os.replace(tmp, out)
    return source, True


def plan(voc_root, sbd_root):
    """The aug training ids and one conversion task per labelled image.

    Returns:
        tuple[list[str], list[tuple]]: sorted aug ids; (id, 'voc' or 'sbd', label file,
        image file) per labelled id.
    """
    jpeg_dir = require(osp.join(voc_root, 'JPEGImages'), 'VOC image folder')
    voc_label_dir = require(osp.join(voc_root, 'SegmentationClass'), 'VOC label folder')
    sets = osp.join(voc_root, 'ImageSets', 'Segmentation')
    voc_train = read_ids(osp.join(sets, 'train.txt'))
    voc_val = read_ids(osp.join(sets, 'val.txt'))
    sbd_label_dir = require(osp.join(sbd_root, 'cls'), 'SBD label folder')
    sbd_ids = read_ids(osp.join(sbd_root, 'train.txt')) + read_ids(osp.join(sbd_root, 'val.txt'))
    aug = sorted((set(sbd_ids) | set(voc_train)) - set(voc_val))
    voc_ids = set(voc_train) | set(voc_val)
    tasks = []
    for stem in sorted(set(aug) | voc_ids):
        if stem in voc_ids:
            label = ('voc', osp.join(voc_label_dir, f'{stem}.png'))
        else:
            label = ('sbd', osp.join(sbd_label_dir, f'{stem}.mat'))
        tasks.append((stem, *label, osp.join(jpeg_dir, f'{stem}.jpg')))
    missing = [path for _, _, label, img in tasks for path in (label, img)
               if not osp.isfile(path)]
    if missing:
        raise FileNotFoundError(f'{len(missing)} listed label or image files are missing, '
                                f'e.g. {", ".join(missing[:3])}')
    return aug, tasks


def main(argv=None):
    args = parse_args(argv)
    try:
        voc_root = find_root(args.voc, 'VOC2012', 'JPEGImages', 'VOC')
        sbd_root = find_root(args.sbd, 'dataset', 'cls', 'SBD')
        aug, tasks = plan(voc_root, sbd_root)
        out_dir = osp.join(voc_root, OUT_DIR)
        os.makedirs(out_dir, exist_ok=True)
        jobs = [(source, label, img, osp.join(out_dir, f'{stem}.png'), args.force)
                for stem, source, label, img in tasks]
        counts = dict(voc=0, sbd=0, skipped=0)
        pool = multiprocessing.Pool(args.nproc) if args.nproc > 1 else None
        try:
            results = (pool.imap_unordered(convert_one, jobs, chunksize=32) if pool else
                       map(convert_one, jobs))
            for done, (source, written) in enumerate(results, start=1):
                counts[source if written else 'skipped'] += 1
                if done % 2000 == 0:
                    print(f'{done} / {len(jobs)} labels', flush=True)
        finally:
            if pool:
                pool.terminate()
    except (FileNotFoundError, ValueError, ImportError) as error:
        sys.exit(f'error: {error}')
    aug_file = osp.join(voc_root, 'ImageSets', 'Segmentation', AUG_LIST)
    with open(aug_file, 'w') as f:
        f.writelines(f'{stem}\n' for stem in aug)
    print(f'{out_dir}: {counts["voc"]} labels from VOC, {counts["sbd"]} from SBD, '
          f'{counts["skipped"]} already there (kept; --force rewrites them)')
    note = '' if len(aug) == AUG_LEN else f' (the official releases give {AUG_LEN})'
    print(f'{aug_file}: {len(aug)} training images{note}')


if __name__ == '__main__':
    main()
