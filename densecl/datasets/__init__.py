from .. import compat  # noqa: F401  (without mmseg: ImportError naming the installs)
from .synthetic import generate
from .toyscenes import ToyScenesDataset, ToyScenesOoDDataset

__all__ = ['generate', 'ToyScenesDataset', 'ToyScenesOoDDataset']
