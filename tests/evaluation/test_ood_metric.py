"""OoD metrics: a hand-computed case, scikit-learn on random data, OoDMetric on files."""
import cv2
import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from densecl.evaluation import OoDMetric, ScoreHistogram


def metrics(scores, is_anomaly, **kwargs):
    histogram = ScoreHistogram(**kwargs)
    histogram.add(np.asarray(scores, np.float32), np.asarray(is_anomaly, bool))
    return histogram.metrics()


def test_hand_computed_case():
    # anomalies at 0.9, 0.7, 0.6; inliers at 0.8, 0.5, 0.4.
    # AUROC: 3 + 2 + 2 of 9 pairs ordered; AP: 1/3 (1 + 2/3 + 3/4).
    result = metrics([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 0, 1, 1, 0, 0])
    assert result['AUROC'] == pytest.approx(7 / 9)
    assert result['AP'] == pytest.approx(29 / 36)
    assert result['FPR95'] == pytest.approx(1 / 3) and result['FPR95_first'] == pytest.approx(1 / 3)


def test_fpr95_closest_and_first_differ():
    # 11 anomalies: TPR 10/11 (0.909) is closer to 0.95 than 11/11; an inlier lies between.
    anomalies = np.arange(10, 21, dtype=np.float32)
    inliers = np.r_[np.arange(9, dtype=np.float32), 10.5]
    result = metrics(np.r_[anomalies, inliers], np.r_[np.ones(11), np.zeros(10)])
    assert result['FPR95'] == 0 and result['FPR95_first'] == pytest.approx(0.1)


def sklearn_metrics(scores, labels):
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    return {'AUROC': roc_auc_score(labels, scores), 'AP': average_precision_score(labels, scores),
            'FPR95': fpr[np.argmin(np.abs(tpr - 0.95))], 'FPR95_first': fpr[np.argmax(tpr >= 0.95)]}


@pytest.mark.parametrize('seed', [0, 1])
def test_matches_sklearn_on_random_scores(seed):
    rng = np.random.default_rng(seed)
    labels = rng.random(20000) < 0.1
    scores = (rng.normal(size=labels.size) + 1.5 * labels).astype(np.float32) * 7 - 3
    ours, reference = metrics(scores, labels), sklearn_metrics(scores, labels)
    for name in reference:
        assert ours[name] == pytest.approx(reference[name], abs=2e-3), name
    exact = metrics(scores, labels, mantissa_bits=23)
    for name in reference:
        assert exact[name] == pytest.approx(reference[name], abs=1e-9), name


def test_ties_are_counted_as_sklearn_does():
    rng = np.random.default_rng(2)
    labels = rng.random(5000) < 0.3
    scores = rng.integers(-50, 50, labels.size) + 10 * labels  # exactly representable bins
    ours, reference = metrics(scores, labels), sklearn_metrics(scores.astype(float), labels)
    for name in reference:
        assert ours[name] == pytest.approx(reference[name], abs=1e-9), name


def test_merging_parts_equals_one_pass():
    rng = np.random.default_rng(3)
    labels = rng.random(3000) < 0.2
    scores = rng.normal(size=labels.size).astype(np.float32) + labels
    parts = ScoreHistogram()
    for chunk in np.array_split(np.arange(labels.size), 4):
        part = ScoreHistogram()
        part.add(scores[chunk], labels[chunk])
        parts.merge(part)
    assert parts.metrics() == metrics(scores, labels)
    assert parts.keys.size < labels.size  # binned, not one entry per pixel


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
