"""Pixel-wise out-of-distribution metrics for mmseg's evaluator."""
import cv2
import numpy as np
from mmengine.evaluator import BaseMetric
from mmseg.registry import METRICS

from .score_counts import ScoreCounts

LABEL_SOURCES = ('anomaly_path', 'gt_sem_seg')


@METRICS.register_module()
class OoDMetric(BaseMetric):
    """AUROC, AP and FPR95 of ``pred_anomaly_map`` pooled over all pixels of a dataset.

    The metrics of Fishyscapes / SegmentMeIfYouCan and of RPL (Liu et al.,
    ICCV 2023): pixels labelled 1 are anomalies (positives), 0 inliers,
    ``ignore_index`` is left out. Scores are pooled exactly in a
    :class:`ScoreCounts` (one count pair per distinct score); each process
    keeps one, merged at the end. Reported in
    percent: ``AUROC``, ``AP``, ``FPR95`` (FPR at the threshold whose TPR is
    closest to 95%, as RPL's evaluation) and ``FPR95_first`` (first TPR >= 95%).

    Args:
        anomaly_labels (str): where the 0/1 labels come from: 'anomaly_path'
            (a mask file named in the sample's metainfo, as
            ``ToyScenesOoDDataset`` provides with
            ``PackSegInputs(meta_keys=(..., 'anomaly_path'))``) or
            'gt_sem_seg' (datasets whose annotations are the anomaly labels,
            e.g. Fishyscapes).
        ignore_index (int): label of pixels left out.
    """

    def __init__(self, anomaly_labels='anomaly_path', ignore_index=255, collect_device='cpu',
                 prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if anomaly_labels not in LABEL_SOURCES:
            raise ValueError(f'anomaly_labels must be one of {LABEL_SOURCES}, '
                             f'got {anomaly_labels!r}')
        self.anomaly_labels = anomaly_labels
        self.ignore_index = ignore_index

    def _labels(self, sample):
        if self.anomaly_labels == 'gt_sem_seg':
            return sample['gt_sem_seg']['data'][0].cpu().numpy()
        path = sample.get('anomaly_path')
        if path is None:
            raise KeyError("OoDMetric: the sample has no 'anomaly_path'; use "
                           "ToyScenesOoDDataset and add 'anomaly_path' to PackSegInputs' "
                           "meta_keys, or set anomaly_labels='gt_sem_seg'")
        labels = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if labels is None:
            raise FileNotFoundError(f'OoDMetric: cannot read the anomaly mask {path}')
        return labels

    def process(self, data_batch, data_samples):
        if not self.results:
            self.results.append(ScoreCounts())
        for sample in data_samples:
            if 'pred_anomaly_map' not in sample:
                raise KeyError('OoDMetric: the model gave no pred_anomaly_map; evaluate an '
                               'OoD segmentor (AnomalyEncoderDecoder, RPLEncoderDecoder)')
            scores = sample['pred_anomaly_map']['data'][0].double().cpu().numpy()  # exact
            labels = self._labels(sample)
            if labels.shape != scores.shape:
                raise ValueError(f'OoDMetric: anomaly map {scores.shape} and labels '
                                 f'{labels.shape} differ in size ({sample.get("img_path")})')
            valid = labels != self.ignore_index
            unknown = np.setdiff1d(np.unique(labels[valid]), [0, 1])
            if unknown.size:
                raise ValueError(f'OoDMetric: anomaly labels must be 0, 1 or ignore_index='
                                 f'{self.ignore_index}, found {unknown.tolist()}')
            self.results[0].add(scores[valid], labels[valid] == 1)

    def compute_metrics(self, results):
        pooled = ScoreCounts()
        for counts in results:  # one per process
            pooled.merge(counts)
        return {name: 100 * value for name, value in pooled.metrics().items()}
