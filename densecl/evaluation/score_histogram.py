"""Pooled anomaly scores in bounded memory, and the OoD metrics computed from them."""
import numpy as np


def _sortable_keys(scores, mantissa_bits):
    """Integers ordered like the float32 ``scores``, rounded down to ``mantissa_bits``.

    A float32's bit pattern read as an integer is ordered like the float for
    positive values and reversed for negative ones; flipping the negative
    ones gives a monotone key, and dropping low mantissa bits bins the scores
    with a relative width of 2**-mantissa_bits at any magnitude.
    """
    bits = np.ascontiguousarray(scores, dtype=np.float32).view(np.int32).astype(np.int64)
    keys = np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)
    return keys >> (23 - mantissa_bits)


class ScoreHistogram:
    """Anomaly and inlier pixel counts per score bin, mergeable across images and processes.

    Bins have a relative width of ``2**-mantissa_bits`` (about 5e-4 for 11
    bits), so at most ~2**(9 + mantissa_bits) bins exist whatever the data
    size: the metrics need O(bins) memory instead of one float per pixel.
    Pixels whose scores share a bin count as tied, as scikit-learn treats
    equal scores.

    Args:
        mantissa_bits (int): mantissa bits kept of each float32 score (<= 23;
            23 keeps every distinct float32 apart).
    """

    def __init__(self, mantissa_bits=11):
        if not 0 <= mantissa_bits <= 23:
            raise ValueError(f'mantissa_bits must be in [0, 23], got {mantissa_bits}')
        self.mantissa_bits = mantissa_bits
        self.keys = np.zeros(0, np.int64)
        self.counts = np.zeros((0, 2), np.int64)  # (inliers, anomalies) per key

    def add(self, scores, is_anomaly):
        """Count ``scores`` (any shape) with their boolean ``is_anomaly`` of the same shape."""
        scores, is_anomaly = np.asarray(scores).ravel(), np.asarray(is_anomaly).ravel()
        if scores.shape != is_anomaly.shape:
            raise ValueError(f'{scores.size} scores but {is_anomaly.size} labels')
        if not np.isfinite(scores).all():
            raise ValueError('anomaly scores contain NaN or inf')
        keys = _sortable_keys(scores, self.mantissa_bits)
        self._merge(keys, np.stack([~is_anomaly, is_anomaly], 1).astype(np.int64))

    def merge(self, other):
        """Add the counts of another histogram with the same ``mantissa_bits``."""
        if other.mantissa_bits != self.mantissa_bits:
            raise ValueError('cannot merge histograms of different mantissa_bits')
        self._merge(other.keys, other.counts)

    def _merge(self, keys, counts):
        keys, inverse = np.unique(np.concatenate([self.keys, keys]), return_inverse=True)
        merged = np.zeros((keys.size, 2), np.int64)
        np.add.at(merged, inverse, np.concatenate([self.counts, counts]))
        self.keys, self.counts = keys, merged

    def metrics(self):
        """AUROC, AP (area under the precision-recall curve) and FPR at 95% TPR, in [0, 1].

        Thresholds run over the bins from the highest score down. ``FPR95``
        is the FPR at the threshold whose TPR is closest to 0.95, as the
        published RPL evaluation reports it; ``FPR95_first`` is the FPR at
        the first threshold reaching TPR >= 0.95.

        Raises:
            ValueError: when no anomaly or no inlier pixel was counted.
        """
        negatives, positives = self.counts.sum(0)
        if positives == 0 or negatives == 0:
            raise ValueError(f'OoD metrics need both kinds of pixels; counted {positives} '
                             f'anomaly and {negatives} inlier pixels')
        fp, tp = np.cumsum(self.counts[::-1], 0).T
        tpr, fpr = tp / positives, fp / negatives
        auroc = np.trapezoid(np.r_[0, tpr], np.r_[0, fpr])
        ap = np.sum(np.diff(np.r_[0, tpr]) * tp / (tp + fp))
        first = np.argmax(tpr >= 0.95)
        return {'AUROC': float(auroc), 'AP': float(ap),
                'FPR95': float(fpr[np.argmin(np.abs(tpr - 0.95))]),
                'FPR95_first': float(fpr[first])}
