from .dense_representation import dense_alignment, dense_uniformity
from .ood_metric import OoDMetric
from .pseudo_label_metric import PseudoLabelMetric, pseudo_label_confusion
from .score_counts import ScoreCounts

__all__ = [
    'dense_alignment', 'dense_uniformity', 'OoDMetric', 'pseudo_label_confusion',
    'PseudoLabelMetric', 'ScoreCounts'
]
