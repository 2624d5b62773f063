from .synthetic import generate
from .toyscenes import ToyScenesDataset, ToyScenesOoDDataset

__all__ = ['generate', 'ToyScenesDataset', 'ToyScenesOoDDataset']
