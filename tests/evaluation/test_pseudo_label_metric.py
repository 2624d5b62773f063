"""Pseudo-label quality per class on hand-built probability maps."""
import math

import pytest
import torch

from densecl.evaluation import PseudoLabelMetric, pseudo_label_confusion

# Six pixels, three classes, probabilities written out: confidence 0.96 keeps, 0.6 drops.
PROBS = torch.tensor([
    [0.96, 0.02, 0.02],  # truth 0, kept 0: right
    [0.02, 0.96, 0.02],  # truth 0, kept 1: wrong
    [0.60, 0.30, 0.10],  # truth 1, dropped
    [0.02, 0.96, 0.02],  # truth 1, kept 1: right
    [0.02, 0.02, 0.96],  # truth 2, kept 2: right
    [0.02, 0.96, 0.02],  # ignored
])
TRUTH = torch.tensor([0, 0, 1, 1, 2, 255])


def logits_and_labels():
    """(C, H, W) logits whose softmax is PROBS, and (H, W) labels, H x W = 2 x 3."""
    return PROBS.log().T.reshape(3, 2, 3), TRUTH.reshape(2, 3)


def test_confusion_counts_kept_wrong_and_dropped_pixels_by_hand():
    confusion = pseudo_label_confusion(*logits_and_labels(), threshold=0.95)
    assert confusion.tolist() == [[1, 1, 0, 0],
                                  [0, 1, 0, 1],
                                  [0, 0, 1, 0]]
    # a threshold of 0.5 keeps the 0.6 pixel, as class 0 (wrong)
    assert pseudo_label_confusion(*logits_and_labels(), threshold=0.5)[1].tolist() == [1, 1, 0, 0]


def test_class_aware_rule_relaxes_peaked_classes_and_drops_flat_ones_by_hand():
    # class 0 peaks at 0.97 > 0.92: its pixels above 0.96 * 0.97 = 0.9312 keep (0.94 too);
    # class 1 peaks at 0.90 <= 0.92: its threshold is the peak itself, no pixel exceeds it
    probs = torch.tensor([[0.97, 0.03], [0.94, 0.06], [0.10, 0.90], [0.20, 0.80]])
    logits, labels = probs.log().T.reshape(2, 1, 4), torch.tensor([[0, 1, 1, 1]])
    assert pseudo_label_confusion(logits, labels, 0.95, class_aware=(0.92, 0.96)).tolist() == \
        [[1, 0, 0], [1, 0, 2]]
    assert pseudo_label_confusion(logits, labels, 0.95).tolist() == [[1, 0, 0], [0, 0, 3]]
    metric = PseudoLabelMetric(class_aware=True)
    metric.dataset_meta = dict(classes=('a', 'b'))
    metric.process({}, [dict(seg_logits=dict(data=logits), gt_sem_seg=dict(data=labels[None]))])
    assert metric.compute_metrics(metric.results)['kept'] == pytest.approx(50)


def test_metric_reports_shares_and_precision_by_hand():
    metric = PseudoLabelMetric(threshold=0.95)
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    logits, labels = logits_and_labels()
    sample = dict(seg_logits=dict(data=logits), gt_sem_seg=dict(data=labels[None]))
    metric.process({}, [sample, sample])  # two identical images: shares are unchanged
    result = metric.compute_metrics(metric.results)
    # 5 valid pixels: 4 kept, 3 of them right; per class right 1/2, 1/2, 1, wrong 1/2, 0, 0,
    # dropped 0, 1/2, 0
    assert result['kept'] == pytest.approx(80)
    assert result['precision'] == pytest.approx(75)
    assert result['mRight'] == pytest.approx(100 * 2 / 3)
    assert result['mWrong'] == pytest.approx(100 / 6)
    assert result['mDropped'] == pytest.approx(100 / 6)
    assert math.isclose(sum(result[k] for k in ('mRight', 'mWrong', 'mDropped')), 100)


def test_bad_input_names_the_problem():
    logits, labels = logits_and_labels()
    with pytest.raises(ValueError, match='share H and W'):
        pseudo_label_confusion(logits, labels.T, 0.95)
    with pytest.raises(ValueError, match='class 7'):
        pseudo_label_confusion(logits, labels.masked_fill(labels == 2, 7), 0.95)
    with pytest.raises(ValueError, match='threshold'):
        PseudoLabelMetric(threshold=0)
    with pytest.raises(KeyError, match='seg_logits'):
        PseudoLabelMetric().process({}, [dict(gt_sem_seg=dict(data=labels[None]))])
