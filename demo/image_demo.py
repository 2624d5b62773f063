"""Segmentation and anomaly map of images: one PNG per image, a contact sheet per folder.

Each PNG shows the image, its segmentation overlay with a legend and, for
OoD models (RPL, or a closed-set config with an anomaly score), the anomaly
heat map with a colour bar. Class names and palette come from the
checkpoint.

With ``--out-dir`` the panel of an image is named after its whole file name,
``a.jpg`` -> ``a.jpg.png``, so ``a.jpg`` and ``a.png`` get distinct panels; a
folder also gets ``contact_sheet.png``. The demo never writes over its inputs
(an ``--out-dir`` that is the input folder is refused) nor, without
``--force``, over an existing file; these checks run before the model is
loaded. An image that cannot be read or that the model cannot take (e.g. a
5x300 strip) is reported on stderr and skipped, and the others are drawn.

Exit status: 0 every image drawn; 3 some images skipped, the others drawn;
1 nothing drawn (no image found, an output refused, the model failed to load,
or every image skipped); 2 a bad command line.

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
from densecl.engine import atomic_write, check_output

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
SHEET = 'contact_sheet.png'
SOME_SKIPPED = 3


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('img', help='an image file or a folder of images')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument('--out-file', help='output image, e.g. out.png (single image)')
    out.add_argument('--out-dir', help=f'output folder (<image file name>.png per image, {SHEET})')
    parser.add_argument('--force', action='store_true', help='overwrite existing output files')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='weight of the class colours in the overlay, in [0, 1]')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides, key=value, as in tools/test.py')
    parser.add_argument('--max-sheet', type=int, default=12,
                        help='images on the contact sheet at most')
    args = parser.parse_args(argv)
    error = argument_error(args)
    if error:
        parser.error(error)
    return args


def argument_error(args):
    """What makes the command line unusable, found before anything is loaded, or None."""
    if not 0 <= args.opacity <= 1:
        return f'--opacity must be in [0, 1], got {args.opacity}'
    if args.max_sheet < 1:
        return f'--max-sheet must be at least 1, got {args.max_sheet}'
    if not osp.exists(args.img):
        return f'{args.img} not found'
    if osp.isdir(args.img) and args.out_file:
        return 'a folder of images needs --out-dir'
    if args.out_file and not cv2.haveImageWriter(args.out_file):
        return (f'--out-file {args.out_file}: cv2 cannot write this file type; '
                'end the name with an image extension such as .png or .jpg')
    if args.out_dir and osp.exists(args.out_dir) and not osp.isdir(args.out_dir):
        return f'--out-dir {args.out_dir} is a file, not a folder'
    if args.out_dir and osp.isdir(args.img) and osp.isdir(args.out_dir) \
            and osp.samefile(args.img, args.out_dir):
        return (f'--out-dir {args.out_dir} is the input folder {args.img}; choose another '
                'folder, so that no panel is written among the images')
    return None


def list_images(img):
    """``img`` itself, or the image files of the folder ``img`` in name order."""
    if not osp.isdir(img):
        return [img]
    return [osp.join(img, name) for name in sorted(os.listdir(img))
            if name.lower().endswith(IMAGE_SUFFIXES)]


def output_path(args, image):
    """--out-file, or ``<out-dir>/<image file name>.png``: distinct for distinct inputs."""
    return args.out_file or osp.join(args.out_dir, osp.basename(image) + '.png')


def refused_outputs(images, outputs, sheet, force):
    """Messages of the outputs that must not be written: one of the inputs, an existing
    file without ``force``, a folder, or in a place that cannot be written."""
    checks = [(out, [image]) for image, out in zip(images, outputs)]
    checks += [(sheet, images)] if sheet else []
    messages = []
    for path, inputs in checks:
        try:
            check_output(path, inputs, force)
        except (ValueError, OSError) as error:
            messages.append(str(error))
    return messages


def panel(model, path, opacity):
    """RGB panel of the image at ``path``; ValueError / OSError when it cannot be drawn."""
    image = read_image(path)
    prediction = inference(model, image)
    meta = model.dataset_meta
    return draw_panel(image, prediction.segmentation, meta['classes'], meta['palette'],
                      prediction.anomaly_map, opacity, title=osp.basename(path))


def write(path, rgb):
    """Encode ``rgb`` as ``path``'s extension says and write it atomically, so a failed
    write leaves an earlier file whole."""
    encoded, data = cv2.imencode(osp.splitext(path)[1], rgb[..., ::-1])
    if not encoded:
        raise OSError(f'cv2 cannot encode {path}')
    with atomic_write(path, 'wb') as f:
        f.write(data.tobytes())


def draw_all(model, images, outputs, args):
    """Write the panel of each image that can be drawn, report the others on stderr;
    the panels for the contact sheet and how many were drawn."""
    on_sheet, drawn = [], 0
    for image, out in zip(images, outputs):
        try:
            rgb = panel(model, image, args.opacity)
        except (ValueError, OSError) as error:
            print(f'skipped {image}: {error}', file=sys.stderr)
            continue
        write(out, rgb)
        print(f'wrote {out}')
        drawn += 1
        if len(on_sheet) < args.max_sheet:
            on_sheet.append(rgb)
    return on_sheet, drawn


def main(argv=None):
    args = parse_args(argv)
    images = list_images(args.img)
    if not images:
        print(f'error: no image ({" ".join(IMAGE_SUFFIXES)}) in {args.img}; nothing written',
              file=sys.stderr)
        return 1
    outputs = [output_path(args, image) for image in images]
    sheet = osp.join(args.out_dir, SHEET) if osp.isdir(args.img) else None
    refused = refused_outputs(images, outputs, sheet, args.force)
    for message in refused:
        print(f'error: {message}', file=sys.stderr)
    if refused:
        return 1
    try:
        model = init_model(args.config, args.checkpoint, args.device, args.cfg_options)
    except (FileNotFoundError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    on_sheet, drawn = draw_all(model, images, outputs, args)
    if not drawn:
        print('error: no image could be drawn; nothing written', file=sys.stderr)
        return 1
    if sheet:
        write(sheet, contact_sheet(on_sheet))
        print(f'wrote {sheet}')
    if drawn < len(images):
        print(f'{len(images) - drawn} of {len(images)} images skipped', file=sys.stderr)
        return SOME_SKIPPED
    return 0


if __name__ == '__main__':
    sys.exit(main())
