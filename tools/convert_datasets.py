"""Convert the official Cityscapes, GTA5 and SYNTHIA labels to Cityscapes
train ids (0-18, 255 ignored), so that the datasets load with no file
written by hand.

Examples::

    python tools/convert_datasets.py cityscapes data/cityscapes
    python tools/convert_datasets.py gta5 data/gta5 --nproc 8
    python tools/convert_datasets.py synthia data/synthia

Each source label gets a single-channel uint8 ``*_labelTrainIds.png`` next
to it (Cityscapes: ``gtFine/{train,val}/**/X_gtFine_labelIds.png`` ->
``X_gtFine_labelTrainIds.png``; GTA5: ``labels/X.png`` ->
``labels/X_labelTrainIds.png``; SYNTHIA: ``GT/LABELS/X.png`` ->
``GT/LABELS/X_labelTrainIds.png``). Labels already converted are kept
unless ``--force``. For gta5 and synthia it also writes the inputs of
rare-class sampling: ``ROOT/sample_class_stats.json`` (per label file, the
pixels of each train id present, DAFormer's format) and
``ROOT/frequency.json`` (pixels and share of each train id over all images).
Every file is written under a temporary name and then renamed, so an
interrupted run leaves no half-written label behind.
"""
import argparse
import json
import multiprocessing
import os
import os.path as osp
import sys

import numpy as np
from PIL import Image

from densecl.datasets.label_conversion import class_pixel_counts, convert_label, save_train_ids
from densecl.datasets.rare_class_sampling import class_frequencies, class_pixel_totals

TRAIN_IDS_SUFFIX = '_labelTrainIds.png'
# dataset -> label folders under ROOT, source suffix, output suffix, whether
# to search subfolders, whether to write the class statistics, where to download it
LAYOUTS = {
    'cityscapes': dict(
        label_dirs=('gtFine/train', 'gtFine/val'),
        suffix='_gtFine_labelIds.png',
        out_suffix='_gtFine_labelTrainIds.png',
        recursive=True,
        stats=False,
        download='gtFine_trainvaltest.zip from https://www.cityscapes-dataset.com/downloads/'),
    'gta5': dict(
        label_dirs=('labels', ),
        suffix='.png',
        out_suffix=TRAIN_IDS_SUFFIX,
        recursive=False,
        stats=True,
        download='the GTA5 labels from https://download.visinf.tu-darmstadt.de/data/from_games/'),
    'synthia': dict(
        label_dirs=('GT/LABELS', ),
        suffix='.png',
        out_suffix=TRAIN_IDS_SUFFIX,
        recursive=False,
        stats=True,
        download='SYNTHIA-RAND-CITYSCAPES from http://synthia-dataset.net/downloads/'),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert official segmentation labels to Cityscapes train ids')
    parser.add_argument('dataset', choices=sorted(LAYOUTS), help='the dataset of ROOT')
    parser.add_argument('root', help='the dataset folder, in its official layout')
    parser.add_argument('--nproc', type=int, default=2, help='processes (default 2)')
    parser.add_argument('--force', action='store_true',
                        help='convert again the labels already converted')
    args = parser.parse_args(argv)
    if args.nproc < 1:
        parser.error(f'--nproc must be at least 1, got {args.nproc}')
    return args


def find_labels(dataset, root):
    """``(source, output)`` paths of the labels of ``root``; exits naming a missing folder."""
    layout = LAYOUTS[dataset]
    if not osp.isdir(root):
        sys.exit(f'error: {dataset}: {root} does not exist')
    pairs = []
    for label_dir in layout['label_dirs']:
        folder = osp.join(root, label_dir)
        if not osp.isdir(folder):
            sys.exit(f'error: {dataset}: label folder {folder} does not exist; download '
                     f'{layout["download"]} and extract it to {root}')
        if layout['recursive']:
            names = [osp.relpath(osp.join(d, f), folder)
                     for d, _, files in os.walk(folder) for f in files]
        else:
            names = os.listdir(folder)
        found = [n for n in sorted(names) if n.endswith(layout['suffix'])
                 and not n.endswith(TRAIN_IDS_SUFFIX) and not osp.basename(n).startswith('.')]
        if not found:
            sys.exit(f'error: {dataset}: no *{layout["suffix"]} labels in {folder}')
        pairs += [(osp.join(folder, n),
                   osp.join(folder, n[:-len(layout['suffix'])] + layout['out_suffix']))
                  for n in found]
    return pairs


def convert_one(task):
    """Convert one label (or read its existing conversion): ``(output, counts, converted)``."""
    dataset, source, output, force = task
    if osp.isfile(output) and not force:
        with Image.open(output) as image:
            train_ids = np.array(image)
        return output, class_pixel_counts(train_ids), False
    train_ids = convert_label(dataset, source)
    temporary = osp.join(osp.dirname(output), f'.{osp.basename(output)}.tmp')
    save_train_ids(train_ids, temporary)
    os.replace(temporary, output)
    return output, class_pixel_counts(train_ids), True


def write_json(path, data):
    temporary = osp.join(osp.dirname(path), f'.{osp.basename(path)}.tmp')
    with open(temporary, 'w') as f:
        json.dump(data, f, indent=2)
    os.replace(temporary, path)


def write_class_stats(root, results):
    """Write ``sample_class_stats.json`` and ``frequency.json`` under ``root``."""
    stats = [dict(file=osp.relpath(output, root), **{str(c): n for c, n in counts.items()})
             for output, counts, _ in sorted(results, key=lambda r: r[0])]
    write_json(osp.join(root, 'sample_class_stats.json'), stats)
    totals = class_pixel_totals(stats)
    frequencies = class_frequencies(stats)
    write_json(osp.join(root, 'frequency.json'), dict(
        num_images=len(stats),
        pixels={str(c): n for c, n in totals.items()},
        frequency={str(c): f for c, f in frequencies.items()}))


def main(argv=None):
    args = parse_args(argv)
    pairs = find_labels(args.dataset, args.root)
    tasks = [(args.dataset, source, output, args.force) for source, output in pairs]
    print(f'{args.dataset}: {len(tasks)} labels in {args.root}, {args.nproc} process(es)')
    step = max(1000, len(tasks) // 10)  # progress lines for large sets only
    results = []
    with multiprocessing.Pool(args.nproc) if args.nproc > 1 else _Serial() as pool:
        for result in pool.imap(convert_one, tasks, chunksize=8):
            results.append(result)
            if len(results) % step == 0 and len(results) < len(tasks):
                print(f'  {len(results)}/{len(tasks)}', flush=True)
    converted = sum(r[2] for r in results)
    print(f'{args.dataset}: converted {converted}, kept {len(results) - converted} already '
          'converted (--force converts them again)')
    if LAYOUTS[args.dataset]['stats']:
        write_class_stats(args.root, results)
        print(f'{args.dataset}: wrote {osp.join(args.root, "sample_class_stats.json")} and '
              f'{osp.join(args.root, "frequency.json")}')


class _Serial:
    """The part of a process pool that ``main`` uses, in this process."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def imap(self, function, tasks, chunksize=1):
        return map(function, tasks)


if __name__ == '__main__':
    main()
