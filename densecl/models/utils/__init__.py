from .anomaly_score import SCORES, anomaly_score, gaussian_blur
from .class_statistics import ClassStatistics
from .crop_geometry import bin_centres, positive_pixel_pairs, view_positive_pairs
from .dist import all_gather_rows
from .key_queue import KeyQueue
from .label_downsample import downsample_labels
from .memory_bank import ClassMemoryBank
from .prototypes import ClassPrototypes
from .semi import class_aware_selection, class_mix_masks, cutmix, masked_cross_entropy, standardize

__all__ = ['SCORES', 'anomaly_score', 'gaussian_blur', 'all_gather_rows', 'bin_centres',
           'class_aware_selection', 'class_mix_masks', 'ClassMemoryBank', 'ClassStatistics',
           'ClassPrototypes', 'cutmix', 'downsample_labels', 'KeyQueue', 'masked_cross_entropy', 'positive_pixel_pairs',
           'standardize', 'view_positive_pairs']
