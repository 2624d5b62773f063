from .. import compat  # noqa: F401  (without mmseg: ImportError naming the installs)
from .outlier_paste import PasteOutliers
from .synthetic import generate
from .toyscenes import ToyScenesDataset, ToyScenesOoDDataset

__all__ = ['PasteOutliers', 'generate', 'ToyScenesDataset', 'ToyScenesOoDDataset']
