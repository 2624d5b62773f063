from .synthetic import generate
from .toyscenes import ToyScenesDataset, ToyScenesOoDDataset
from .transforms import CheckSegLabels

__all__ = [
    'CheckSegLabels', 'generate', 'ToyScenesDataset', 'ToyScenesOoDDataset'
]
