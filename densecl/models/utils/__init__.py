from .anomaly_score import SCORES, anomaly_score, gaussian_blur
from .dist import all_gather_rows
from .label_downsample import downsample_labels
from .memory_bank import ClassMemoryBank
from .prototypes import ClassPrototypes
from .semi import class_aware_selection, cutmix, masked_cross_entropy, standardize

__all__ = ['SCORES', 'anomaly_score', 'gaussian_blur', 'all_gather_rows', 'downsample_labels',
           'ClassMemoryBank', 'ClassPrototypes', 'class_aware_selection', 'cutmix',
           'masked_cross_entropy', 'standardize']
