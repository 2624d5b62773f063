"""How good a model's confident predictions are as pseudo-labels, per class, for mmseg's
evaluator: the measurement behind the semi-supervised benchmark's error analysis."""
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.registry import METRICS

from ..models.utils import class_aware_selection


def pseudo_label_confusion(logits, labels, threshold, ignore_index=255, class_aware=None):
    """Pixel counts of ground-truth class x kept pseudo-label.

    A pixel's pseudo-label is the argmax of ``softmax(logits)``; it is kept
    when that probability is >= ``threshold`` (the rule of weak-to-strong
    training), or, with ``class_aware``, by DSSN's per-image, per-class rule
    (:func:`class_aware_selection`; ``threshold`` is then unused). Pixels
    labelled ``ignore_index`` are left out.

    Args:
        logits (Tensor): (C, H, W) class logits.
        labels (Tensor): (H, W) ground truth.
        threshold (float): confidence a pseudo-label needs.
        class_aware (tuple | None): ``(high, scale)`` of the class-aware rule.

    Returns:
        Tensor: (C, C + 1) int64 counts; column C counts the dropped pixels.
    """
    if logits.dim() != 3 or logits.shape[1:] != labels.shape:
        raise ValueError(f'logits (C, H, W) and labels (H, W) must share H and W, got '
                         f'{tuple(logits.shape)} and {tuple(labels.shape)}')
    num_classes = logits.shape[0]
    probs = logits.float().softmax(0)
    confidence, pseudo = probs.max(0)
    if class_aware is None:
        keep = confidence >= threshold
    else:
        image = torch.ones_like(labels, dtype=torch.bool)[None]
        keep = class_aware_selection(probs[None], image, *class_aware)[0]
    pseudo[~keep] = num_classes
    valid = labels != ignore_index
    truth = labels[valid].long()
    if truth.numel() and int(truth.max()) >= num_classes:
        raise ValueError(f'labels hold class {int(truth.max())}, the logits only '
                         f'{num_classes} classes')
    cells = truth * (num_classes + 1) + pseudo[valid]
    return torch.bincount(cells, minlength=num_classes * (num_classes + 1)).view(
        num_classes, num_classes + 1)


@METRICS.register_module()
class PseudoLabelMetric(BaseMetric):
    """Per ground-truth class: the share of its pixels whose pseudo-label is kept and right,
    kept and wrong, or dropped, and the precision of the kept labels of each class.

    Confirmation bias in self-training starts where a wrong label passes the
    confidence threshold; this metric shows which classes get such labels,
    and as what. Run it on labelled images the method treats as unlabelled,
    e.g. ``tools/test.py CONFIG CKPT --cfg-options test_evaluator._delete_=True
    test_evaluator.type=PseudoLabelMetric ...`` (the config's IoUMetric
    options must go; full command in configs/semi/README.md).
    Logs a per-class table and returns percentages over all valid pixels:
    ``kept``, ``precision`` (right among kept), and the class means
    ``mRight``, ``mWrong``, ``mDropped``.

    Args:
        threshold (float): confidence a pseudo-label needs (0.95 in UniMatch).
        class_aware (bool): select as DSSN does instead (per image and class,
            :func:`class_aware_selection` with ``high`` and ``scale``); each
            evaluated image is one image of that rule.
        ignore_index (int): label of pixels left out.
    """

    def __init__(self, threshold=0.95, class_aware=False, high=0.92, scale=0.96,
                 ignore_index=255, collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not 0 < threshold <= 1:
            raise ValueError(f'threshold must be in (0, 1], got {threshold}')
        self.threshold = threshold
        self.class_aware = (high, scale) if class_aware else None
        self.ignore_index = ignore_index

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            if 'seg_logits' not in sample:
                raise KeyError('PseudoLabelMetric: the prediction has no seg_logits; '
                               "evaluate a segmentor through mmseg's predict")
            self.results.append(pseudo_label_confusion(
                sample['seg_logits']['data'].cpu(), sample['gt_sem_seg']['data'][0].cpu(),
                self.threshold, self.ignore_index, self.class_aware))

    def compute_metrics(self, results):
        confusion = torch.stack(results).sum(0).double()
        num_classes = confusion.shape[0]
        kept = confusion[:, :num_classes]
        right = kept.diag()
        pixels = confusion.sum(1).clamp_min(1)
        shares = {'right': right / pixels, 'wrong': (kept.sum(1) - right) / pixels,
                  'dropped': confusion[:, num_classes] / pixels}
        precision = right / kept.sum(0).clamp_min(1)
        self._log_table(kept, pixels, shares, precision)
        total = confusion.sum().clamp_min(1)
        return {'kept': 100 * float(kept.sum() / total),
                'precision': 100 * float(right.sum() / kept.sum().clamp_min(1)),
                **{f'm{name.capitalize()}': 100 * float(share.mean())
                   for name, share in shares.items()}}

    def _log_table(self, kept, pixels, shares, precision):
        classes = self.dataset_meta['classes']
        wrong = kept.clone()
        wrong.fill_diagonal_(0)
        rule = (f'confidence >= {self.threshold}' if self.class_aware is None else
                'class-aware selection (high {}, scale {})'.format(*self.class_aware))
        lines = [f'pseudo-labels by {rule}, % of each class\'s pixels:',
                 f'{"class":>12} {"right":>6} {"wrong":>6} {"dropped":>8} {"precision":>9}  '
                 'most often taken for']
        for index, name in enumerate(classes):
            mistaken = int(wrong[index].argmax())
            share = 100 * float(wrong[index, mistaken] / pixels[index])
            lines.append(f'{name:>12} {100 * shares["right"][index]:6.1f} '
                         f'{100 * shares["wrong"][index]:6.1f} '
                         f'{100 * shares["dropped"][index]:8.1f} '
                         f'{100 * precision[index]:9.1f}  {classes[mistaken]} ({share:.1f})')
        print_log('\n'.join(lines), logger='current')
