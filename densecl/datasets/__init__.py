from .. import compat  # noqa: F401  (without mmseg: ImportError naming the installs)
from .seeding import SeededInfiniteSampler, SeededSamplesMixin
from .synthetic import generate
from .toyscenes import ToyScenesDataset, ToyScenesOoDDataset
from .transforms import CheckSegLabels

__all__ = [
    'CheckSegLabels', 'generate', 'SeededInfiniteSampler',
    'SeededSamplesMixin', 'ToyScenesDataset', 'ToyScenesOoDDataset'
]
