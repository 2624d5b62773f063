"""Data transforms of densecl's pipelines."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CheckSegLabels(BaseTransform):
    """Fail on a label map holding a value outside ``[0, num_classes)`` that
    is not ``ignore_index``.

    mmseg's IoU metric silently mis-scores such values and the losses crash
    without naming the file, so this runs right after ``LoadAnnotations``.
    Without a label map (inference pipelines, from which mmseg removes
    ``LoadAnnotations``) there is nothing to check.
    It costs one ``max`` per map, plus one masked pass when the map holds
    values at or above ``num_classes`` (e.g. ignored pixels).

    Args:
        num_classes (int): Number of classes of the dataset.
        ignore_index (int): The label value that is ignored. Defaults to 255.
    """

    def __init__(self, num_classes, ignore_index=255):
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def transform(self, results):
        seg = results.get('gt_seg_map')
        if seg is not None and seg.size and (seg.max() >= self.num_classes or seg.min() < 0):
            outside = (seg >= self.num_classes) | (seg < 0)
            bad = np.unique(seg[outside & (seg != self.ignore_index)])
            if bad.size:
                raise ValueError(
                    f'{results.get("seg_map_path")}: label value(s) '
                    f'{bad.tolist()} outside [0, {self.num_classes}) and not '
                    f'the ignore index {self.ignore_index}')
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')


@TRANSFORMS.register_module()
class NoStrongViews(BaseTransform):
    """Mark an unlabelled sample as one without strong views, for :class:`PackSemiInputs`.

    It is then packed as a (1, C, H, W) stack of its (weak) image alone, so
    :class:`SemiDataPreProcessor` batches it as unlabelled with no strong
    views and no CutMix boxes: for models that augment the batch themselves,
    as SePiCo's release jitters and blurs inside its training step.
    """

    def transform(self, results):
        results['img_strong'] = []
        results['cutmix_box'] = np.zeros((0, *results['img'].shape[:2]), dtype=bool)
        return results
