from .anomaly_score import SCORES, anomaly_score, gaussian_blur
from .averaged_models import MeanTeacherEMA
from .batch_augment import color_jitter, dacs_blur, rotate_hue
from .class_statistics import ClassStatistics
from .crop_geometry import bin_centres, positive_pixel_pairs, view_positive_pairs
from .dist import all_gather_rows
from .key_queue import KeyQueue
from .label_downsample import downsample_labels
from .memory_bank import ClassMemoryBank
from .prototypes import ClassPrototypes
from .resnet_keys import LAYOUTS, convert_resnet_keys
from .semi import (batch_class_mix_masks, class_aware_selection, class_mix_masks, cutmix,
                   masked_cross_entropy, standardize)

__all__ = ['SCORES', 'anomaly_score', 'gaussian_blur', 'all_gather_rows', 'batch_class_mix_masks',
           'bin_centres', 'class_aware_selection', 'class_mix_masks', 'color_jitter', 'dacs_blur',
           'ClassMemoryBank', 'ClassStatistics', 'ClassPrototypes', 'convert_resnet_keys', 'cutmix',
           'downsample_labels',
           'KeyQueue', 'LAYOUTS', 'masked_cross_entropy', 'MeanTeacherEMA', 'positive_pixel_pairs',
           'rotate_hue', 'standardize', 'view_positive_pairs']
