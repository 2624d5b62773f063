from .dist import all_gather_rows
from .label_downsample import downsample_labels
from .memory_bank import ClassMemoryBank

__all__ = ['all_gather_rows', 'downsample_labels', 'ClassMemoryBank']
