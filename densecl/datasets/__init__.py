from .. import compat  # noqa: F401  (without mmseg: ImportError naming the installs)
from .domain_adaptation import DomainAdaptationDataset
from .outlier_paste import PasteOutliers
from .procedural_imagenet import ProceduralImageNet
from .seeding import SeededInfiniteSampler, SeededSamplesMixin
from .semi import SemiSegDataset, SemiSupervisedSampler
from .strong_views import PackSemiInputs, StrongViews
from .synthetic import generate
from .toyscenes import ToyScenesDataset, ToyScenesOoDDataset
from .transforms import CheckSegLabels
from .two_view import PackTwoViewInputs, TwoViewCrop
from .unlabeled_folder import UnlabeledImageFolder

__all__ = [
    'CheckSegLabels', 'DomainAdaptationDataset', 'generate', 'PackSemiInputs',
    'PackTwoViewInputs', 'PasteOutliers', 'ProceduralImageNet', 'SeededInfiniteSampler',
    'SeededSamplesMixin', 'SemiSegDataset', 'SemiSupervisedSampler', 'StrongViews',
    'ToyScenesDataset', 'ToyScenesOoDDataset', 'TwoViewCrop', 'UnlabeledImageFolder'
]
