from .. import compat  # noqa: F401  (without mmseg: ImportError naming the installs)
from .outlier_paste import PasteOutliers
from .seeding import SeededInfiniteSampler, SeededSamplesMixin
from .synthetic import generate
from .toyscenes import ToyScenesDataset, ToyScenesOoDDataset
from .transforms import CheckSegLabels
from .two_view import PackTwoViewInputs, TwoViewCrop
from .unlabeled_folder import UnlabeledImageFolder

__all__ = [
    'CheckSegLabels', 'generate', 'PackTwoViewInputs', 'PasteOutliers',
    'SeededInfiniteSampler', 'SeededSamplesMixin', 'ToyScenesDataset', 'ToyScenesOoDDataset',
    'TwoViewCrop', 'UnlabeledImageFolder'
]
