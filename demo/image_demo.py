"""Segmentation and anomaly map of images: one PNG per image, a contact sheet per folder.

Each PNG shows the image, its segmentation overlay with a legend and, for
OoD models (RPL, or a closed-set config with an anomaly score), the anomaly
heat map with a colour bar. Class names and palette come from the
checkpoint. In folder mode an image that fails is reported and the others
are still drawn; the failures are listed at the end (exit status 1).

Example::

    python demo/image_demo.py data/toyscenes/img_dir/ood_val/ood_val_00000.png \\
        configs/rpl/deeplabv3plus_r18-d16_rpl_500_toyscenes-128x128.py CHECKPOINT \\
        --out-file demo.png
    python demo/image_demo.py data/toyscenes/img_dir/ood_val CONFIG CHECKPOINT --out-dir out/
"""
import argparse
import os
import os.path as osp
import sys

import cv2
from mmengine.config import DictAction

from densecl.apis import contact_sheet, draw_panel, inference, init_model, read_image

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('img', help='an image file or a folder of images')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument('--out-file', help='output PNG (single image)')
    out.add_argument('--out-dir', help='output folder (one PNG per image, contact_sheet.png)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='weight of the class colours in the overlay, in [0, 1]')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides, key=value, as in tools/test.py')
    parser.add_argument('--max-sheet', type=int, default=12,
                        help='images on the contact sheet at most')
    args = parser.parse_args(argv)
    if not 0 <= args.opacity <= 1:
        parser.error(f'--opacity must be in [0, 1], got {args.opacity}')
    if osp.isdir(args.img) and args.out_file:
        parser.error('a folder of images needs --out-dir')
    return args


def panel(model, path, opacity):
    image = read_image(path)
    prediction = inference(model, image)
    meta = model.dataset_meta
    return draw_panel(image, prediction.segmentation, meta['classes'], meta['palette'],
                      prediction.anomaly_map, opacity, title=osp.basename(path))


def write(path, rgb):
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, rgb[..., ::-1]):
        raise OSError(f'cannot write {path}')


def main(argv=None):
    args = parse_args(argv)
    try:
        model = init_model(args.config, args.checkpoint, args.device, args.cfg_options)
    except (FileNotFoundError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    if not osp.isdir(args.img):
        try:
            rgb = panel(model, args.img, args.opacity)
        except ValueError as error:
            print(f'error: {error}', file=sys.stderr)
            return 1
        out_file = args.out_file or osp.join(args.out_dir, osp.splitext(
            osp.basename(args.img))[0] + '.png')
        write(out_file, rgb)
        print(f'wrote {out_file}')
        return 0
    names = sorted(n for n in os.listdir(args.img) if n.lower().endswith(IMAGE_SUFFIXES))
    panels, failures = [], []
    for name in names:
        try:
            rgb = panel(model, osp.join(args.img, name), args.opacity)
        except ValueError as error:
            failures.append(f'{name}: {error}')
            continue
        write(osp.join(args.out_dir, osp.splitext(name)[0] + '.png'), rgb)
        panels.append(rgb)
    if panels:
        write(osp.join(args.out_dir, 'contact_sheet.png'), contact_sheet(panels[:args.max_sheet]))
    print(f'wrote {len(panels)} images and contact_sheet.png to {args.out_dir}')
    if failures or not names:
        print(f'{len(failures)} of {len(names)} images failed:' if names
              else f'no images in {args.img}', file=sys.stderr)
        for failure in failures:
            print(f'  {failure}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
