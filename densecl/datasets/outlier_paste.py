"""Outlier exposure by pasting auxiliary objects, for OoD training (RPL, CoroCL)."""
import os
import os.path as osp

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PasteOutliers(BaseTransform):
    """Paste an object of an outlier bank into the image and label it ``outlier_label``.

    As RPL (Liu et al., ICCV 2023) pastes COCO objects into Cityscapes
    images: the bank is a folder with ``img/`` (object crops) and ``mask/``
    (1 = object pixel) of the same names, e.g. toyscenes' ``outliers/``. The
    object is scaled so its longer side is a random fraction ``scale`` of
    the image's shorter side and placed at a random position. With
    ``context_prob`` the sample is instead the outlier crop itself resized to
    the image, an outlier-context image (CoroCL's COCO images): the object
    labelled ``outlier_label``, the rest ``context_label`` (inlier context;
    the released COCO masks label it 0). Modifies ``img`` and
    ``gt_seg_map`` and sets ``outlier_context`` (whether the sample is a
    context image; add it to ``PackSegInputs``' ``meta_keys`` for CoroCL).

    Args:
        outlier_root (str): the bank folder.
        prob (float): probability of pasting an object into an image.
        scale (tuple[float, float]): range of the object size relative to the image.
        outlier_label (int): label of outlier pixels.
        context_prob (float): probability of an outlier-context sample.
        context_label (int): label of the context pixels around the object.
    """

    def __init__(self, outlier_root, prob=1.0, scale=(0.2, 0.5), outlier_label=254,
                 context_prob=0.0, context_label=0):
        super().__init__()
        self.img_dir = osp.join(outlier_root, 'img')
        self.mask_dir = osp.join(outlier_root, 'mask')
        if not osp.isdir(self.img_dir) or not osp.isdir(self.mask_dir):
            raise FileNotFoundError(
                f'PasteOutliers: {outlier_root} needs img/ and mask/ folders (toyscenes: '
                f'python tools/make_synthetic.py --out DATA_ROOT writes DATA_ROOT/outliers)')
        self.names = sorted(os.listdir(self.img_dir))
        if not self.names:
            raise FileNotFoundError(f'PasteOutliers: no outlier images in {self.img_dir}')
        self.prob = prob
        self.scale = scale
        self.outlier_label = outlier_label
        self.context_prob = context_prob
        self.context_label = context_label

    def _random_outlier(self):
        name = self.names[np.random.randint(len(self.names))]
        crop = cv2.imread(osp.join(self.img_dir, name), cv2.IMREAD_COLOR)
        mask = cv2.imread(osp.join(self.mask_dir, name), cv2.IMREAD_GRAYSCALE)
        if crop is None or mask is None or crop.shape[:2] != mask.shape:
            raise ValueError(f'PasteOutliers: cannot read {name} with a mask of its size '
                             f'from {self.img_dir} and {self.mask_dir}')
        return crop, mask > 0

    def transform(self, results):
        img, seg = results['img'], results['gt_seg_map']
        h, w = seg.shape
        results['outlier_context'] = bool(np.random.rand() < self.context_prob)
        if results['outlier_context']:
            crop, mask = self._random_outlier()
            results['img'] = cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR)
            mask = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
            results['gt_seg_map'] = np.where(mask > 0, self.outlier_label,
                                             self.context_label).astype(seg.dtype)
        elif np.random.rand() < self.prob:
            crop, mask = self._random_outlier()
            side = np.random.uniform(*self.scale) * min(h, w)
            factor = side / max(crop.shape[:2])
            size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR)
            mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
            top = np.random.randint(h - size[1] + 1)
            left = np.random.randint(w - size[0] + 1)
            img = img.copy()
            seg = seg.copy()
            img[top:top + size[1], left:left + size[0]][mask] = crop[mask]
            seg[top:top + size[1], left:left + size[0]][mask] = self.outlier_label
            results['img'], results['gt_seg_map'] = img, seg
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(img_dir={self.img_dir!r}, prob={self.prob}, '
                f'scale={self.scale}, outlier_label={self.outlier_label}, '
                f'context_prob={self.context_prob}, context_label={self.context_label})')
