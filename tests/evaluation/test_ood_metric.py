"""OoD metrics: hand-computed cases, scikit-learn and a pairwise / sort-based reference on
spread, tied and tightly packed scores, OoDMetric on files."""
import cv2
import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from densecl.evaluation import OoDMetric, ScoreCounts


def metrics(scores, is_anomaly):
    counts = ScoreCounts()
    counts.add(np.asarray(scores, np.float32), np.asarray(is_anomaly, bool))
    return counts.metrics()


def test_hand_computed_case():
    # anomalies at 0.9, 0.7, 0.6; inliers at 0.8, 0.5, 0.4.
    # AUROC: 3 + 2 + 2 of 9 pairs ordered; AP: 1/3 (1 + 2/3 + 3/4).
    result = metrics([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 0, 1, 1, 0, 0])
    assert result['AUROC'] == pytest.approx(7 / 9)
    assert result['AP'] == pytest.approx(29 / 36)
    assert result['FPR95'] == pytest.approx(1 / 3) and result['FPR95_first'] == pytest.approx(1 / 3)


def test_fpr95_closest_and_first_differ():
    # 12 anomalies: TPR 11/12 (0.917) is closer to 0.95 than 12/12, which only the threshold
    # 5.0 reaches, where an inlier ties with the last anomaly.
    anomalies = np.r_[np.arange(10, 21, dtype=np.float32), 5]
    inliers = np.r_[np.arange(9, dtype=np.float32) / 2, 5]
    result = metrics(np.r_[anomalies, inliers], np.r_[np.ones(12), np.zeros(10)])
    assert result['FPR95'] == 0 and result['FPR95_first'] == pytest.approx(0.1)


def released_fpr95(fpr, tpr):
    """RPL's fpr_and_fdr_at_recall on a (fpr, tpr) curve from the highest threshold down:
    keep the thresholds up to the first full recall, walk them from the lowest threshold up,
    and take the first whose TPR is closest to 0.95."""
    full = next(i for i, t in enumerate(tpr) if t == 1)
    walk = list(range(full, -1, -1))
    best = min(walk, key=lambda i: abs(tpr[i] - 0.95))  # min keeps the first of equals
    return fpr[best]


def sklearn_metrics(scores, labels):
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    fpr, tpr = fpr[1:], tpr[1:]  # roc_curve starts at (0, 0) above every score
    return {'AUROC': roc_auc_score(labels, scores), 'AP': average_precision_score(labels, scores),
            'FPR95': released_fpr95(fpr, tpr), 'FPR95_first': fpr[np.argmax(tpr >= 0.95)]}


def test_fpr95_tie_takes_the_lowest_threshold_as_the_release():
    # 20 anomalies: 19 at the top (TPR 0.95) then 2 inliers, then one anomaly and one inlier.
    # TPR 0.95 holds at FPR 0 and at FPR 2/3: the release reports 2/3 (its lowest threshold);
    # FPR95_first the first threshold reaching 0.95: 0.
    scores = np.r_[np.arange(19) + 10.0, 5.0, 4.0, 3.0, 3.0]
    labels = np.r_[np.ones(19), 0, 0, 1, 0]
    result = metrics(scores, labels)
    assert result['FPR95'] == pytest.approx(2 / 3) and result['FPR95_first'] == 0


@pytest.mark.parametrize('seed', [0, 1])
def test_matches_sklearn_on_random_scores(seed):
    rng = np.random.default_rng(seed)
    labels = rng.random(20000) < 0.1
    scores = (rng.normal(size=labels.size) + 1.5 * labels).astype(np.float32) * 7 - 3
    ours, reference = metrics(scores, labels), sklearn_metrics(scores, labels)
    for name in reference:
        assert ours[name] == pytest.approx(reference[name], abs=1e-12), name


def test_ties_are_counted_as_sklearn_does():
    rng = np.random.default_rng(2)
    labels = rng.random(5000) < 0.3
    scores = rng.integers(-50, 50, labels.size) + 10 * labels  # many exact ties
    ours, reference = metrics(scores, labels), sklearn_metrics(scores.astype(float), labels)
    for name in reference:
        assert ours[name] == pytest.approx(reference[name], abs=1e-12), name


def sorted_reference(scores, labels):
    """AP and FPR95 by sorting every pixel; AUROC as the Mann-Whitney statistic of ranks."""
    order = np.argsort(-scores, kind='stable')
    s, y = scores[order], labels[order]
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    tp, fp = np.cumsum(y)[last_of_tie], np.cumsum(~y)[last_of_tie]
    tpr, fpr = tp / y.sum(), fp / (~y).sum()
    ascending = np.sort(scores)  # average rank of tied scores, 1 = lowest
    below, up_to = (np.searchsorted(ascending, scores, side) for side in ('left', 'right'))
    ranks = (below + up_to + 1) / 2
    n_pos, n_neg = labels.sum(), (~labels).sum()
    auroc = (ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    precision = tp / (tp + fp)
    return {'AUROC': auroc, 'AP': np.sum(np.diff(np.r_[0, tpr]) * precision),
            'FPR95': released_fpr95(fpr, tpr), 'FPR95_first': fpr[np.argmax(tpr >= 0.95)]}


def test_packed_scores_of_a_confident_model_are_exact():
    # Negative MSP of a confident model: 50k pixels, 5% anomalies, all scores within 3e-3 of
    # -1 and ~7.5k distinct float32 values. The former histogram (bins of relative width
    # 2**-11) put them in 13 bins: AUROC 73.6 / AP 32.6 / FPR95 100 instead of 79.7 / 42.5 / 82.1.
    rng = np.random.default_rng(5)
    labels = rng.random(50000) < 0.05
    gap = np.where(labels, rng.exponential(4e-4, labels.size), rng.exponential(1e-4, labels.size))
    scores = (-1 + np.minimum(gap, 3e-3)).astype(np.float32)
    assert np.unique(scores).size > 5000
    reference = sorted_reference(scores.astype(np.float64), labels)
    ours = metrics(scores, labels)
    for name in reference:
        assert ours[name] == pytest.approx(reference[name], abs=1e-12), name
    assert ours == pytest.approx(sklearn_metrics(scores, labels), abs=1e-12)


def test_scores_apart_by_one_float32_step_are_not_tied():
    # anomalies 1 ulp above the inliers: a perfect detector, AUROC exactly 1.
    inlier = np.float32(-0.999)
    anomaly = np.nextafter(inlier, np.float32(0))
    result = metrics([anomaly] * 3 + [inlier] * 7, [1] * 3 + [0] * 7)
    assert result == {'AUROC': 1.0, 'AP': 1.0, 'FPR95': 0.0, 'FPR95_first': 0.0}


def test_float64_scores_are_not_rounded_to_float32():
    counts = ScoreCounts()
    counts.add(np.array([1.0, 1.0 + 1e-12]), np.array([False, True]))
    assert counts.metrics()['AUROC'] == 1.0


def test_merging_parts_equals_one_pass():
    rng = np.random.default_rng(3)
    labels = rng.random(3000) < 0.2
    scores = rng.normal(size=labels.size).astype(np.float32) + labels
    scores[::7] = scores[0]  # ties across parts
    parts = ScoreCounts()
    for chunk in np.array_split(np.arange(labels.size), 4):
        part = ScoreCounts()
        part.add(scores[chunk], labels[chunk])
        parts.merge(part)
    assert parts.metrics() == metrics(scores, labels)
    values, counts = parts.counts()
    assert values.size == np.unique(scores).size and counts.sum() == labels.size


def test_non_boolean_labels_are_refused():
    with pytest.raises(TypeError, match='boolean'):
        ScoreCounts().add([0.1, 0.2], [0, 1])


def test_one_kind_of_pixel_only_is_refused():
    with pytest.raises(ValueError, match='0 anomaly and 3 inlier'):
        metrics([0.1, 0.2, 0.3], [0, 0, 0])


def sample(tmp_path, name, scores, mask):
    path = str(tmp_path / f'{name}.png')
    cv2.imwrite(path, mask.astype(np.uint8))
    return {'pred_anomaly_map': {'data': torch.as_tensor(scores)[None]},
            'anomaly_path': path, 'img_path': name}


def test_metric_pools_images_ignores_unlabelled_pixels_and_reports_percent(tmp_path):
    mask_a = np.array([[1, 0], [255, 0]])
    mask_b = np.array([[1, 1], [0, 0]])
    metric = OoDMetric()
    metric.process({}, [sample(tmp_path, 'a', [[0.9, 0.8], [5.0, 0.4]], mask_a),
                        sample(tmp_path, 'b', [[0.7, 0.6], [0.5, 0.1]], mask_b)])
    result = metric.compute_metrics(metric.results)
    # pooled: anomalies 0.9, 0.7, 0.6; inliers 0.8, 0.4, 0.5, 0.1; the 5.0 pixel is unlabelled
    expected = metrics([0.9, 0.7, 0.6, 0.8, 0.4, 0.5, 0.1], [1, 1, 1, 0, 0, 0, 0])
    assert result == pytest.approx({k: 100 * v for k, v in expected.items()})


def test_metric_bad_input(tmp_path):
    metric = OoDMetric()
    with pytest.raises(ValueError, match=r'differ in size .*a'):
        metric.process({}, [sample(tmp_path, 'a', np.zeros((2, 3)), np.zeros((2, 2)))])
    with pytest.raises(ValueError, match=r'found \[7\]'):
        metric.process({}, [sample(tmp_path, 'b', np.zeros((2, 2)), np.full((2, 2), 7))])
    with pytest.raises(KeyError, match='anomaly_path'):
        metric.process({}, [{'pred_anomaly_map': {'data': torch.zeros(1, 2, 2)}}])
    with pytest.raises(KeyError, match='pred_anomaly_map'):
        metric.process({}, [{'anomaly_path': 'x.png'}])
