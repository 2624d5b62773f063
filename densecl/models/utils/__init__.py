from .anomaly_score import SCORES, anomaly_score, gaussian_blur
from .crop_geometry import bin_centres, positive_pixel_pairs, view_positive_pairs
from .dist import all_gather_rows
from .key_queue import KeyQueue
from .label_downsample import downsample_labels
from .memory_bank import ClassMemoryBank

__all__ = ['SCORES', 'anomaly_score', 'gaussian_blur', 'all_gather_rows', 'bin_centres',
           'downsample_labels', 'ClassMemoryBank', 'KeyQueue', 'positive_pixel_pairs',
           'view_positive_pairs']
