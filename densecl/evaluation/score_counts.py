"""Pooled anomaly scores as exact counts per distinct score, and the OoD metrics from them."""
import numpy as np

CONSOLIDATE_EVERY = 1 << 22  # pending (score, count) entries merged beyond this many


class ScoreCounts:
    """Inlier and anomaly pixel counts per distinct score value, mergeable across images
    and processes.

    Scores are kept at full precision (as float64, which holds every float16,
    float32 and float64 score exactly), so the metrics are exact: pixels tie only
    when their scores are equal, as scikit-learn treats them. Memory grows with
    the number of distinct scores, at most one entry (24 bytes) per pixel:
    about 40 MB for the 1.6M pixels of toyscenes' ood_val.
    """

    def __init__(self):
        self._values = []  # 1-D float64 arrays of distinct scores, one per added chunk
        self._counts = []  # matching (n, 2) int64 arrays: (inliers, anomalies)
        self._pending = 0

    def add(self, scores, is_anomaly):
        """Count ``scores`` (any shape) with their boolean ``is_anomaly`` of the same shape."""
        scores = np.asarray(scores, dtype=np.float64).ravel()
        is_anomaly = np.asarray(is_anomaly).ravel()
        if scores.shape != is_anomaly.shape:
            raise ValueError(f'{scores.size} scores but {is_anomaly.size} labels')
        if is_anomaly.dtype != bool:
            raise TypeError(f'is_anomaly must be boolean, got {is_anomaly.dtype}')
        if not np.isfinite(scores).all():
            raise ValueError('anomaly scores contain NaN or inf')
        values, inverse = np.unique(scores, return_inverse=True)
        counts = np.stack([np.bincount(inverse[~is_anomaly], minlength=values.size),
                           np.bincount(inverse[is_anomaly], minlength=values.size)], 1)
        self._append(values, counts)

    def merge(self, other):
        """Add the counts of another :class:`ScoreCounts`."""
        values, counts = other.counts()
        self._append(values, counts)

    def _append(self, values, counts):
        self._values.append(values)
        self._counts.append(counts.astype(np.int64))
        self._pending += values.size
        if self._pending > CONSOLIDATE_EVERY:
            self.counts()

    def counts(self):
        """(distinct scores ascending, their (inlier, anomaly) counts): the merged chunks."""
        if len(self._values) != 1:
            values, inverse = np.unique(np.concatenate([np.zeros(0), *self._values]),
                                        return_inverse=True)
            counts = np.zeros((values.size, 2), np.int64)
            np.add.at(counts, inverse, np.concatenate([np.zeros((0, 2), np.int64),
                                                       *self._counts]))
            self._values, self._counts = [values], [counts]
        self._pending = self._values[0].size
        return self._values[0], self._counts[0]

    def metrics(self):
        """AUROC, AP (area under the precision-recall curve) and FPR at 95% TPR, in [0, 1].

        Thresholds run over the distinct scores from the highest down. ``FPR95``
        is the FPR at the threshold whose TPR is closest to 0.95, as RPL's
        released evaluation (``fpr_and_fdr_at_recall``) picks it: among the
        thresholds down to the first one reaching TPR 1, the lowest one when
        several share that TPR (the highest FPR of the tie). ``FPR95_first``
        is the FPR at the first threshold reaching TPR >= 0.95.

        Raises:
            ValueError: when no anomaly or no inlier pixel was counted.
        """
        _, counts = self.counts()
        negatives, positives = counts.sum(0)
        if positives == 0 or negatives == 0:
            raise ValueError(f'OoD metrics need both kinds of pixels; counted {positives} '
                             f'anomaly and {negatives} inlier pixels')
        fp, tp = np.cumsum(counts[::-1], 0).T
        tpr, fpr = tp / positives, fp / negatives
        auroc = np.trapezoid(np.r_[0, tpr], np.r_[0, fpr])
        ap = np.sum(np.diff(np.r_[0, tpr]) * tp / (tp + fp))
        full = np.argmax(tp == positives)
        closest = full - np.argmin(np.abs(tpr[full::-1] - 0.95))
        return {'AUROC': float(auroc), 'AP': float(ap), 'FPR95': float(fpr[closest]),
                'FPR95_first': float(fpr[np.argmax(tpr >= 0.95)])}
