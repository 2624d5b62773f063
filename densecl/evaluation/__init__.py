from .dense_representation import dense_alignment, dense_uniformity
from .ood_metric import OoDMetric
from .pseudo_label_metric import PseudoLabelMetric, pseudo_label_confusion
from .score_counts import ScoreCounts
from .subset_iou_metric import SYNTHIA_13, SYNTHIA_16, SubsetIoUMetric

__all__ = [
    'dense_alignment', 'dense_uniformity', 'OoDMetric', 'pseudo_label_confusion',
    'PseudoLabelMetric', 'ScoreCounts', 'SubsetIoUMetric',
    'SYNTHIA_13', 'SYNTHIA_16'
]
