"""Two augmented views of one image that remember where they came from.

Dense pretraining needs the geometry of its views: PixPro (Xie et al.,
CVPR 2021) pairs the pixels of two crops by their distance in the original
image. mmpretrain's MultiView discards the crop boxes, so the transform here
records them, in normalised original-image coordinates, with the flips.
"""
import math

import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose
from mmseg.registry import TRANSFORMS
from mmseg.structures import SegDataSample


def sample_crop_box(height, width, scale, ratio, attempts=10):
    """A random (x1, y1, x2, y2) pixel box of relative area in ``scale`` and aspect in ``ratio``.

    The sampling of torchvision's RandomResizedCrop (aspect ratio uniform in
    log space, ``attempts`` tries, then the largest centred box of an
    allowed aspect ratio); it draws from numpy's global generator, which the
    seeded samplers seed per sample.
    """
    area = height * width
    for _ in range(attempts):
        target_area = area * np.random.uniform(*scale)
        aspect = math.exp(np.random.uniform(math.log(ratio[0]), math.log(ratio[1])))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            x1 = np.random.randint(0, width - w + 1)
            y1 = np.random.randint(0, height - h + 1)
            return x1, y1, x1 + w, y1 + h
    aspect = width / height
    if aspect < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif aspect > ratio[1]:
        w, h = int(round(height * ratio[1])), height
    else:
        w, h = width, height
    x1, y1 = (width - w) // 2, (height - h) // 2
    return x1, y1, x1 + w, y1 + h


@TRANSFORMS.register_module()
class TwoViewCrop(BaseTransform):
    """Two random resized crops of ``img``, each maybe flipped, with their geometry.

    Writes ``img`` as a list of the two views, ``crop_boxes`` (2, 4) float32
    (x1, y1, x2, y2) in [0, 1] coordinates of the original image, and
    ``flips`` (2,) bool (horizontal). ``view_pipeline`` (e.g. photometric
    distortion) runs on each view independently after cropping; it must not
    change the geometry.

    Args:
        size (int | tuple[int, int]): output (h, w) of each view.
        scale (tuple[float, float]): range of the crop area relative to the image.
        ratio (tuple[float, float]): range of the crop aspect ratio (w / h).
        flip_prob (float): probability of a horizontal flip of each view.
        view_pipeline (list[dict]): transforms applied to each view.
    """

    def __init__(self, size, scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), flip_prob=0.5,
                 view_pipeline=()):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f'TwoViewCrop size must be a positive int or (h, w), got {size!r}')
        if not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(f'TwoViewCrop scale must satisfy 0 < min <= max <= 1, got {scale!r}')
        if not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f'TwoViewCrop ratio must satisfy 0 < min <= max, got {ratio!r}')
        if not 0 <= flip_prob <= 1:
            raise ValueError(f'TwoViewCrop flip_prob must be in [0, 1], got {flip_prob!r}')
        self.scale, self.ratio, self.flip_prob = tuple(scale), tuple(ratio), flip_prob
        self.view_pipeline = Compose(list(view_pipeline))

    def transform(self, results):
        img = results['img']
        height, width = img.shape[:2]
        views, boxes, flips = [], [], []
        for _ in range(2):
            x1, y1, x2, y2 = sample_crop_box(height, width, self.scale, self.ratio)
            view = mmcv.imresize(img[y1:y2, x1:x2], self.size[::-1])
            flip = bool(np.random.rand() < self.flip_prob)
            if flip:
                view = mmcv.imflip(view, 'horizontal')
            view = self.view_pipeline(dict(img=view, img_shape=view.shape[:2]))['img']
            views.append(view)
            boxes.append((x1 / width, y1 / height, x2 / width, y2 / height))
            flips.append(flip)
        results['img'] = views
        results['img_shape'] = self.size
        results['crop_boxes'] = np.array(boxes, dtype=np.float32)
        results['flips'] = np.array(flips, dtype=bool)
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(size={self.size}, scale={self.scale}, '
                f'ratio={self.ratio}, flip_prob={self.flip_prob}, '
                f'view_pipeline={self.view_pipeline})')


@TRANSFORMS.register_module()
class PackTwoViewInputs(BaseTransform):
    """Pack the views of :class:`TwoViewCrop` as ``inputs`` (2, C, H, W) uint8.

    The data sample carries ``crop_boxes``, ``flips``, ``img_path`` and
    ``ori_shape`` in its metainfo; :class:`TwoViewDataPreprocessor` splits
    the batch into the two views.
    """

    def transform(self, results):
        views = results.get('img')
        if not isinstance(views, (list, tuple)) or len(views) != 2:
            raise ValueError('PackTwoViewInputs needs the two views of TwoViewCrop in '
                             f'results["img"], got {type(views).__name__}')
        inputs = torch.stack([
            torch.from_numpy(np.ascontiguousarray(
                (view[..., None] if view.ndim == 2 else view).transpose(2, 0, 1)))
            for view in views
        ])
        sample = SegDataSample()
        sample.set_metainfo({
            'img_path': results.get('img_path'),
            'ori_shape': results.get('ori_shape'),
            'img_shape': tuple(inputs.shape[2:]),
            'crop_boxes': results['crop_boxes'],
            'flips': results['flips'],
        })
        return dict(inputs=inputs, data_samples=sample)
