"""Strong views of an unlabelled image for weak-to-strong consistency (UniMatch, Yang et al.,
"Revisiting Weak-to-Strong Consistency in Semi-Supervised Semantic Segmentation", CVPR 2023)."""
import os

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS


def cutmix_box(height, width, rng, prob=0.5, area=(0.02, 0.4), ratio=(0.3, 1 / 0.3)):
    """(H, W) bool mask of one random box (all False with probability ``1 - prob``).

    As UniMatch: box area a uniform fraction ``area`` of the image, aspect
    ratio uniform in ``ratio``, position uniform among those that fit.
    """
    box = np.zeros((height, width), dtype=bool)
    if rng.random() > prob:
        return box
    size = rng.uniform(*area) * height * width
    aspect = rng.uniform(*ratio)
    box_w = min(width, int(np.sqrt(size / aspect)))
    box_h = min(height, int(np.sqrt(size * aspect)))
    x = rng.integers(0, width - box_w + 1)
    y = rng.integers(0, height - box_h + 1)
    box[y:y + box_h, x:x + box_w] = True
    return box


@TRANSFORMS.register_module()
class StrongViews(BaseTransform):
    """Add ``num_views`` strong photometric views of ``results['img']`` and CutMix boxes.

    Put it after the geometric (weak) transforms: every view is computed from
    the same weakly augmented image by per-pixel colour changes and a blur,
    so a pixel shows the same scene point in the weak view (seen by the
    teacher) and in every strong view (seen by the student), and pseudo-labels
    stay aligned. UniMatch's strong augmentation, through albumentations:
    colour jitter (p 0.8), grayscale (p 0.2), Gaussian blur (p 0.5,
    sigma 0.1-2); each view also gets a CutMix box (p 0.5) that the model
    fills from another image of the batch. Adds ``img_strong`` (list of
    images like ``img``) and ``cutmix_box`` ((V, H, W) bool). Random draws
    come from numpy's global generator, so :class:`SeededInfiniteSampler`
    seeding makes them reproducible.

    Args:
        num_views (int): number of strong views.
        color_jitter (dict): ``albumentations.ColorJitter`` arguments.
        grayscale_prob (float): probability of converting a view to grayscale.
        blur_prob (float): probability of blurring a view.
        blur_sigma (tuple[float, float]): range of the blur's sigma.
        cutmix_prob (float): probability that a view gets a CutMix box.
    """

    def __init__(self, num_views=2,
                 color_jitter=dict(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.25,
                                   p=0.8),
                 grayscale_prob=0.2, blur_prob=0.5, blur_sigma=(0.1, 2.0), cutmix_prob=0.5):
        # albumentations >= 1.4 asks PyPI for a newer release on import unless told not to.
        os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
        import albumentations  # only pipelines with strong views need it
        self.num_views = num_views
        self.cutmix_prob = cutmix_prob
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
            views.append(np.ascontiguousarray(view[..., ::-1]))
            boxes.append(cutmix_box(*rgb.shape[:2], rng, self.cutmix_prob))
        results['img_strong'] = views
        results['cutmix_box'] = np.stack(boxes)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(num_views={self.num_views}, '
                f'photometric={self.photometric}, cutmix_prob={self.cutmix_prob})')


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
