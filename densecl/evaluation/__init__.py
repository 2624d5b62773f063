from .dense_representation import dense_alignment, dense_uniformity
from .ood_metric import OoDMetric
from .score_histogram import ScoreHistogram

__all__ = ['dense_alignment', 'dense_uniformity', 'OoDMetric', 'ScoreHistogram']
