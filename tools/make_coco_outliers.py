"""Build the COCO outlier bank that ``PasteOutliers`` reads, from the official COCO files.

Example::

    python tools/make_coco_outliers.py --coco data/coco --out data/coco_outliers

``--coco`` holds COCO 2017 as downloaded: ``train2017/*.jpg`` and
``annotations/instances_train2017.json``. The selection is the one RPL (Liu et al.,
ICCV 2023) takes from Meta-OoD (Chan et al., ICCV 2021,
``preparation/prepare_coco_segmentation.py``): images holding any instance (crowd
ones included) of the COCO categories that are Cityscapes classes (person, bicycle,
car, motorcycle, bus, truck, traffic light, stop sign) are dropped, and so are
images with a side under 480 pixels; every other image gives one mask, the union
of all its instances. Images without annotations give an empty mask, as in the
release. Written: ``OUT/img/<name>.png`` (the image, lossless) and
``OUT/mask/<name>.png`` (1 = object, 0 = the rest), the layout of ``PasteOutliers``,
whose ``context_prob`` samples are then CoroCL's COCO context images.

Polygons are rasterised with pycocotools when it is installed (as the release),
otherwise with cv2.fillPoly (pixels on the polygon's edge count as inside, up to a
pixel more than pycocotools). Uncompressed RLE (the crowd annotations of the
instances files) is decoded here; compressed RLE needs pycocotools and is otherwise
skipped and counted. RPL draws as many COCO images as Cityscapes has training
images (2975) at random for each run; ``--num-images`` keeps a seeded random subset
to save disk (the PNG images take several times the JPEG size).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

import cv2
import numpy as np

try:
    from pycocotools import mask as mask_utils
except ImportError:  # optional: polygons are filled with cv2 instead
    mask_utils = None

CITYSCAPES_CATEGORIES = ('person', 'bicycle', 'car', 'motorcycle', 'bus', 'truck',
                         'traffic light', 'stop sign')
MIN_SIZE = 480


def annotation_mask(segmentation, height, width):
    """0/1 mask of one COCO ``segmentation``, or None for compressed RLE without pycocotools."""
    if mask_utils is not None:
        if isinstance(segmentation, list):
            rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
        elif isinstance(segmentation['counts'], list):
            rle = mask_utils.frPyObjects(segmentation, height, width)
        else:
            rle = segmentation
        return mask_utils.decode(rle).astype(np.uint8)
    mask = np.zeros((height, width), np.uint8)
    if isinstance(segmentation, list):
        for polygon in segmentation:
            points = np.round(np.asarray(polygon, np.float64).reshape(-1, 2)).astype(np.int32)
            if len(points) >= 3:
                cv2.fillPoly(mask, [points], 1)
        return mask
    counts = segmentation['counts']
    if not isinstance(counts, list):
        return None
    rle_h, rle_w = segmentation['size']
    values = np.arange(len(counts)) % 2  # runs alternate 0, 1, 0, ...
    flat = np.repeat(values.astype(np.uint8), counts)
    if flat.size != rle_h * rle_w or (rle_h, rle_w) != (height, width):
        raise ValueError(f'RLE of size {rle_h}x{rle_w} with {flat.size} pixels for a '
                         f'{height}x{width} image')
    return flat.reshape(rle_w, rle_h).T  # column-major


def select_images(instances, image_dir, min_size=MIN_SIZE):
    """The images of ``instances`` kept as outliers, and how many were left out and why."""
    excluded_ids = {c['id'] for c in instances['categories']
                    if c['name'] in CITYSCAPES_CATEGORIES}
    by_image = {}
    for ann in instances['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann)
    on_disk = set(os.listdir(image_dir))
    kept, counts = [], dict(cityscapes=0, small=0, missing=0)
    for image in sorted(instances['images'], key=lambda im: im['id']):
        anns = by_image.get(image['id'], [])
        if image['file_name'] not in on_disk:
            counts['missing'] += 1
        elif any(ann['category_id'] in excluded_ids for ann in anns):
            counts['cityscapes'] += 1
        elif image['height'] < min_size or image['width'] < min_size:
            counts['small'] += 1
        else:
            kept.append((image, anns))
    return kept, counts


def make_bank(coco_root, out, split='train2017', min_size=MIN_SIZE, num_images=None, seed=0,
              log=print):
    """Write ``out/img`` and ``out/mask`` from ``coco_root``; returns the counts."""
    image_dir = osp.join(coco_root, split)
    ann_file = osp.join(coco_root, 'annotations', f'instances_{split}.json')
    for path in (image_dir, ann_file):
        if not osp.exists(path):
            raise FileNotFoundError(f'make_coco_outliers: {path} does not exist; --coco must '
                                    f'hold {split}/*.jpg and annotations/instances_{split}.json')
    with open(ann_file) as f:
        instances = json.load(f)
    kept, counts = select_images(instances, image_dir, min_size)
    if num_images is not None and num_images < len(kept):
        picks = np.random.default_rng(seed).choice(len(kept), num_images, replace=False)
        kept = [kept[i] for i in sorted(picks)]
    for sub in ('img', 'mask'):
        os.makedirs(osp.join(out, sub), exist_ok=True)
    counts.update(written=0, compressed_rle_skipped=0)
    for n, (image, anns) in enumerate(kept, 1):
        h, w = image['height'], image['width']
        img = cv2.imread(osp.join(image_dir, image['file_name']), cv2.IMREAD_COLOR)
        if img is None or img.shape[:2] != (h, w):
            raise ValueError(f'make_coco_outliers: cannot read {image["file_name"]} at the '
                             f'{w}x{h} its annotations give')
        mask = np.zeros((h, w), np.uint8)
        for ann in anns:
            part = annotation_mask(ann['segmentation'], h, w)
            if part is None:
                counts['compressed_rle_skipped'] += 1
            else:
                mask |= part
        name = osp.splitext(image['file_name'])[0] + '.png'
        for sub, array in (('img', img), ('mask', mask)):
            if not cv2.imwrite(osp.join(out, sub, name), array):
                raise OSError(f'make_coco_outliers: cannot write {osp.join(out, sub, name)}')
        counts['written'] += 1
        if n % 5000 == 0:
            log(f'{n}/{len(kept)} images')
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Write the COCO outlier bank (img/, mask/) for PasteOutliers')
    parser.add_argument('--coco', default='data/coco', help='COCO 2017 root (default data/coco)')
    parser.add_argument('--out', default='data/coco_outliers',
                        help='bank folder (default data/coco_outliers)')
    parser.add_argument('--split', default='train2017', help='COCO split (default train2017)')
    parser.add_argument('--min-size', type=int, default=MIN_SIZE,
                        help=f'minimum image height and width (default {MIN_SIZE}, as released)')
    parser.add_argument('--num-images', type=int, default=None,
                        help='keep a random subset of this many images (default all)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the subset')
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        counts = make_bank(args.coco, args.out, args.split, args.min_size, args.num_images,
                           args.seed)
    except FileNotFoundError as error:
        parser.error(str(error))
    print(f'outlier bank written to {args.out} in {time.perf_counter() - start:.1f} s: '
          f'{json.dumps(counts)}')
    if counts['compressed_rle_skipped']:
        print(f'{counts["compressed_rle_skipped"]} compressed RLE annotations skipped; '
              'install pycocotools to include them')
    return 0


if __name__ == '__main__':
    sys.exit(main())
