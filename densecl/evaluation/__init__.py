from .ood_metric import OoDMetric
from .score_histogram import ScoreHistogram

__all__ = ['OoDMetric', 'ScoreHistogram']
