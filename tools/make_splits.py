"""Write labelled / unlabelled splits of a real dataset as mmseg ann_files.

Convert a published split (UniMatch / CPS lines such as
``JPEGImages/2007_000733.jpg SegmentationClass/2007_000733.png``)::

    python tools/make_splits.py convert --preset voc --data-root data/VOCdevkit/VOC2012 \
        --labeled splits/pascal/92/labeled.txt --unlabeled splits/pascal/92/unlabeled.txt \
        --out-dir data/VOCdevkit/VOC2012/splits/92

or draw a seeded split of a dataset without a published one::

    python tools/make_splits.py generate --preset cityscapes --data-root data/cityscapes \
        --num-labeled 1/8 --seed 0 --out-dir data/cityscapes/splits/1_8_seed0

Both write OUT/labeled.txt and OUT/unlabeled.txt, to be used as ``ann_file`` with
``data_prefix=dict(img_path=IMG_DIR, ...)`` and ``img_suffix=IMG_SUFFIX``. Nothing is
written unless every listed image exists under the data root.
"""
import argparse
import os.path as osp
import sys

from densecl.datasets.splits import (check_stems_exist, list_stems, published_split_to_ann_lines,
                                     seeded_split, write_ann_file)

# mmseg's PascalVOCDataset and CityscapesDataset (train split) layouts.
PRESETS = {
    'voc': dict(img_dir='JPEGImages', img_suffix='.jpg'),
    'cityscapes': dict(img_dir='leftImg8bit/train', img_suffix='_leftImg8bit.png'),
}


def parse_args(argv=None):
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--data-root', required=True, help='dataset root folder')
    common.add_argument('--preset', choices=sorted(PRESETS),
                        help='fills --img-dir and --img-suffix with mmseg\'s layout')
    common.add_argument('--img-dir', help='image folder relative to the data root')
    common.add_argument('--img-suffix', help='image file ending that mmseg appends')
    common.add_argument('--out-dir', required=True,
                        help='folder that receives labeled.txt and unlabeled.txt')
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    convert = commands.add_parser(
        'convert', parents=[common], help='convert a published split (UniMatch / CPS format)')
    convert.add_argument('--labeled', required=True, help='published labelled split file')
    convert.add_argument('--unlabeled', help='published unlabelled split file')
    generate = commands.add_parser(
        'generate', parents=[common], help='draw a seeded split of all images of the folder')
    generate.add_argument('--num-labeled', required=True,
                          help='labelled images: a count (372) or a fraction (1/8)')
    generate.add_argument('--seed', type=int, default=0, help='seed of the split (default 0)')
    args = parser.parse_args(argv)
    preset = PRESETS.get(args.preset, {})
    for key in ('img_dir', 'img_suffix'):
        if getattr(args, key) is None:
            if key not in preset:
                parser.error(f'--{key.replace("_", "-")} is required without --preset')
            setattr(args, key, preset[key])
    return args


def read_split(path, args):
    """The ann_file stems of a published split file, each image checked to exist."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'split file {path} does not exist')
    with open(path) as f:
        try:
            stems = published_split_to_ann_lines(f, args.img_dir, args.img_suffix)
        except ValueError as error:
            raise ValueError(f'{path}: {error}') from None
    if not stems:
        raise ValueError(f'split file {path} lists no images')
    try:
        check_stems_exist(stems, args.data_root, args.img_dir, args.img_suffix)
    except FileNotFoundError as error:
        raise FileNotFoundError(f'{path}: {error}') from None
    return stems


def warn_overlaps(splits):
    """Warn about images listed twice: they count twice, or are both labelled and not."""
    seen = {}
    for name, stems in splits.items():
        for stem in stems:
            seen.setdefault(stem, []).append(name)
    twice = {stem: names for stem, names in seen.items() if len(names) > 1}
    if twice:
        stem, names = next(iter(twice.items()))
        print(f'warning: {len(twice)} image(s) listed more than once, e.g. {stem} '
              f'(in {" and ".join(names)})', file=sys.stderr)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.command == 'convert':
            splits = {'labeled': read_split(args.labeled, args)}
            if args.unlabeled:
                splits['unlabeled'] = read_split(args.unlabeled, args)
            warn_overlaps(splits)
        else:
            found = list_stems(args.data_root, args.img_dir, args.img_suffix)
            labeled, unlabeled = seeded_split(found, args.num_labeled, args.seed)
            splits = {'labeled': labeled, 'unlabeled': unlabeled}
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'error: {error}')
    for name, stems in splits.items():
        path = osp.join(args.out_dir, f'{name}.txt')
        write_ann_file(path, stems)
        print(f'{path}: {len(stems)} images')
    if args.command == 'generate':
        print(f'seed {args.seed}: {len(labeled)} of {len(found)} images under '
              f'{osp.join(args.data_root, args.img_dir)} labelled')
    print(f'use as ann_file with img_path {args.img_dir!r} and img_suffix {args.img_suffix!r}')


if __name__ == '__main__':
    main()
