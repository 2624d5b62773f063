"""mIoU over named subsets of the classes, for SYNTHIA -> Cityscapes.

SYNTHIA has no terrain, truck or train pixels, so its benchmark reports the
mIoU over the other 16 Cityscapes classes and over 13 of them (also without
wall, fence and pole), next to the 19-class mIoU.
"""
from collections import OrderedDict

import numpy as np
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS

CITYSCAPES_19 = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
                 'traffic sign', 'vegetation', 'terrain', 'sky', 'person', 'rider', 'car',
                 'truck', 'bus', 'train', 'motorcycle', 'bicycle')
SYNTHIA_16 = tuple(c for c in CITYSCAPES_19 if c not in ('terrain', 'truck', 'train'))
SYNTHIA_13 = tuple(c for c in SYNTHIA_16 if c not in ('wall', 'fence', 'pole'))


@METRICS.register_module()
class SubsetIoUMetric(IoUMetric):
    """mmseg's :class:`IoUMetric` plus the mean IoU over each named class subset.

    The subset means use the same per-class IoUs as the overall mIoU (NaN
    for a class absent from predictions and labels, skipped in the mean, or
    ``nan_to_num``) and are reported in percent under the subset names.

    Args:
        class_subsets (dict): ``{name: [class names]}``, e.g.
            ``dict(mIoU16=SYNTHIA_16, mIoU13=SYNTHIA_13)``; names must be in
            the dataset's classes.
        **kwargs: :class:`IoUMetric` arguments.
    """

    def __init__(self, class_subsets, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(class_subsets, dict) or not class_subsets:
            raise TypeError(f'class_subsets must be a non-empty dict of name: class names, '
                            f'got {class_subsets!r}')
        reserved = {'aAcc', 'mIoU', 'mAcc', 'mDice', 'mFscore', 'mPrecision', 'mRecall'}
        for name, subset in class_subsets.items():
            if name in reserved:
                raise ValueError(f'subset name {name!r} clashes with an IoUMetric key')
            if isinstance(subset, str) or not subset:
                raise TypeError(f'subset {name!r} must be a non-empty list of class names, '
                                f'got {subset!r}')
        self.class_subsets = {name: tuple(subset) for name, subset in class_subsets.items()}

    def compute_metrics(self, results):
        classes = list(self.dataset_meta['classes'])
        for name, subset in self.class_subsets.items():
            unknown = [c for c in subset if c not in classes]
            if unknown:
                raise ValueError(f'subset {name!r} names classes {unknown} that the dataset '
                                 f'does not have: {classes}')
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        intersect = sum(r[0] for r in results)
        union = sum(r[1] for r in results)
        iou = (intersect / union).numpy()
        if self.nan_to_num is not None:
            iou = np.nan_to_num(iou, nan=self.nan_to_num)
        metrics = OrderedDict(metrics)
        for name, subset in self.class_subsets.items():
            values = iou[[classes.index(c) for c in subset]]
            metrics[name] = (np.round(np.nanmean(values) * 100, 2)
                             if not np.all(np.isnan(values)) else float('nan'))
        return metrics
