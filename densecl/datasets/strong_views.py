"""Strong views of an unlabelled image for weak-to-strong consistency (UniMatch, Yang et al.,
"Revisiting Weak-to-Strong Consistency in Semi-Supervised Semantic Segmentation", CVPR 2023)."""
import math
import os

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS
from PIL import Image, ImageEnhance, ImageFilter, ImageOps


def clamped_box(height, width, size, ratio, rng):
    """(y, x, h, w): one aspect draw, sides clamped to the image, position uniform (densecl)."""
    aspect = rng.uniform(*ratio)
    box_w = min(width, int(np.sqrt(size / aspect)))
    box_h = min(height, int(np.sqrt(size * aspect)))
    x = rng.integers(0, width - box_w + 1)
    return rng.integers(0, height - box_h + 1), x, box_h, box_w


def rejected_box(height, width, size, ratio, rng):
    """(y, x, h, w) as UniMatch's release: aspect and corner redrawn until the box fits.

    The corner is uniform over the whole image, so aspects whose box fits in
    more positions are likelier; no side is clamped.
    """
    if max(ratio[0], size / width**2) >= min(ratio[1], height**2 / size):
        raise ValueError(f'a CutMix box of {size:.0f} pixels fits no aspect ratio in {ratio} '
                         f'inside a {height} x {width} image')
    while True:
        aspect = rng.uniform(*ratio)
        box_w, box_h = int(np.sqrt(size / aspect)), int(np.sqrt(size * aspect))
        x, y = rng.integers(0, width), rng.integers(0, height)
        if x + box_w <= width and y + box_h <= height:
            return y, x, box_h, box_w


BOX_SAMPLERS = dict(clamp=clamped_box, rejection=rejected_box)


def cutmix_box(height, width, rng, prob=0.5, area=(0.02, 0.4), ratio=(0.3, 1 / 0.3),
               sampling='clamp'):
    """(H, W) bool mask of one random box (all False with probability ``1 - prob``).

    As UniMatch: box area a uniform fraction ``area`` of the image, aspect
    ratio uniform in ``ratio``; ``sampling`` places it ('rejection' as
    released, 'clamp' as densecl first did: smaller boxes at extreme aspects).
    """
    box = np.zeros((height, width), dtype=bool)
    if rng.random() > prob:
        return box
    size = rng.uniform(*area) * height * width
    y, x, box_h, box_w = BOX_SAMPLERS[sampling](height, width, size, ratio, rng)
    box[y:y + box_h, x:x + box_w] = True
    return box


def enhance(kind):
    """PIL ``ImageEnhance.<kind>`` with a factor uniform in (0.05, 0.95] (DSSN's range)."""
    def op(img, rng):
        return getattr(ImageEnhance, kind)(img).enhance(0.95 - 0.9 * rng.random())
    return op


def shift_hue(img, rng):
    """Rotate the HSV hue by ``int(f * 255)`` steps of 256, ``f`` uniform in (-0.5, 0.5)."""
    factor = 0.5 * rng.random() * (-1 if rng.random() < 0.5 else 1)
    hue, saturation, value = img.convert('HSV').split()
    hue = Image.fromarray(((np.asarray(hue, dtype=np.int64) + int(factor * 255)) % 256)
                          .astype(np.uint8), 'L')
    return Image.merge('HSV', (hue, saturation, value)).convert('RGB')


# DSSN's strong_img_aug (its dataset/transform.py): 11 ops and their magnitude ranges.
IMAGE_OPS = dict(
    identity=lambda img, rng: img,
    autocontrast=lambda img, rng: ImageOps.autocontrast(img),
    equalize=lambda img, rng: ImageOps.equalize(img),
    blur=lambda img, rng: img.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.1, 2.0))),
    contrast=enhance('Contrast'),
    brightness=enhance('Brightness'),
    color=enhance('Color'),
    sharpness=enhance('Sharpness'),
    posterize=lambda img, rng: ImageOps.posterize(img, 8 - max(1, math.ceil(4 * rng.random()))),
    solarize=lambda img, rng: ImageOps.solarize(img, 256 - max(1, math.ceil(255 * rng.random()))),
    hue=shift_hue)


def random_image_ops(rgb, rng, max_ops):
    """DSSN's RandAugment-style step: 1 to ``max_ops`` ops (uniform), drawn with replacement."""
    names = list(IMAGE_OPS)
    img = Image.fromarray(rgb)
    for index in rng.integers(0, len(names), rng.integers(1, max_ops + 1)):
        img = IMAGE_OPS[names[index]](img, rng)
    return np.asarray(img)


@TRANSFORMS.register_module()
class StrongViews(BaseTransform):
    """Add ``num_views`` strong photometric views of ``results['img']`` and CutMix boxes.

    Put it after the geometric (weak) transforms: every view is computed from
    the same weakly augmented image by per-pixel colour changes and a blur,
    so a pixel shows the same scene point in the weak view (seen by the
    teacher) and in every strong view (seen by the student), and pseudo-labels
    stay aligned. UniMatch's strong augmentation, through albumentations:
    colour jitter (p 0.8), grayscale (p 0.2), Gaussian blur (p 0.5,
    sigma 0.1-2); with ``num_image_ops`` (DSSN: 3), then 1 to that many
    RandAugment-style ops of DSSN's release (:data:`IMAGE_OPS`, drawn with
    replacement). Each view also gets a CutMix box (p 0.5) that the model
    fills from another image of the batch, placed by ``cutmix_sampling``
    ('rejection' as UniMatch's release; 'clamp' as densecl first did). Adds
    ``img_strong`` (list of images like ``img``) and ``cutmix_box`` ((V, H, W)
    bool). Random draws come from numpy's global generator, so
    :class:`SeededInfiniteSampler` seeding makes them reproducible.

    Args:
        num_views (int): number of strong views.
        color_jitter (dict): ``albumentations.ColorJitter`` arguments.
        grayscale_prob (float): probability of converting a view to grayscale.
        blur_prob (float): probability of blurring a view.
        blur_sigma (tuple[float, float]): range of the blur's sigma.
        cutmix_prob (float): probability that a view gets a CutMix box.
        cutmix_sampling (str): 'rejection' or 'clamp'.
        num_image_ops (int): most RandAugment-style ops per view (0: none).
    """

    def __init__(self, num_views=2,
                 color_jitter=dict(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.25,
                                   p=0.8),
                 grayscale_prob=0.2, blur_prob=0.5, blur_sigma=(0.1, 2.0), cutmix_prob=0.5,
                 cutmix_sampling='clamp', num_image_ops=0):
        if cutmix_sampling not in BOX_SAMPLERS:
            raise ValueError(f'cutmix_sampling must be one of {tuple(BOX_SAMPLERS)}, '
                             f'got {cutmix_sampling!r}')
        # albumentations >= 1.4 asks PyPI for a newer release on import unless told not to.
        os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
        import albumentations  # only pipelines with strong views need it
        self.num_views = num_views
        self.cutmix_prob = cutmix_prob
        self.cutmix_sampling = cutmix_sampling
        self.num_image_ops = num_image_ops
        self.photometric = albumentations.Compose([
            albumentations.ColorJitter(**color_jitter),
            albumentations.ToGray(p=grayscale_prob),
            albumentations.GaussianBlur(blur_limit=0, sigma_limit=blur_sigma, p=blur_prob),
        ])

    def transform(self, results):
        rgb = np.ascontiguousarray(results['img'][..., ::-1])  # mmcv loads BGR
        rng = np.random.default_rng(np.random.randint(2**31))
        views, boxes = [], []
        for _ in range(self.num_views):
            self.photometric.set_random_seed(int(rng.integers(2**31)))
            view = self.photometric(image=rgb)['image']
            if self.num_image_ops:
                view = random_image_ops(view, rng, self.num_image_ops)
            views.append(np.ascontiguousarray(view[..., ::-1]))
            boxes.append(cutmix_box(*rgb.shape[:2], rng, self.cutmix_prob,
                                    sampling=self.cutmix_sampling))
        results['img_strong'] = views
        results['cutmix_box'] = np.stack(boxes)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(num_views={self.num_views}, '
                f'photometric={self.photometric}, num_image_ops={self.num_image_ops}, '
                f'cutmix_prob={self.cutmix_prob}, cutmix_sampling={self.cutmix_sampling!r})')


@TRANSFORMS.register_module()
class PackSemiInputs(PackSegInputs):
    """:class:`PackSegInputs` for unlabelled samples with :class:`StrongViews`.

    ``inputs`` becomes (1 + V, C, H, W): the weak view then the strong ones;
    the data sample gets ``cutmix_box`` (PixelData, (V, H, W) bool). Samples
    without strong views are packed as by PackSegInputs.
    """

    def transform(self, results):
        packed = super().transform(results)
        if 'img_strong' in results:
            views = [super(PackSemiInputs, self).transform({'img': view})['inputs']
                     for view in results['img_strong']]
            packed['inputs'] = torch.stack([packed['inputs'], *views])
            packed['data_samples'].cutmix_box = PixelData(
                data=torch.from_numpy(results['cutmix_box']))
        return packed
