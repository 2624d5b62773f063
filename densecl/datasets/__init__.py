from .. import compat  # noqa: F401  (without mmseg: ImportError naming the installs)
from .domain_adaptation import DomainAdaptationDataset
from .imagenet_list import ImageNetList
from .ood_datasets import FishyscapesDataset, RoadAnomalyDataset, SMIYCDataset
from .outlier_paste import PasteOutliers
from .rare_class_sampling import RareClassSampledDataset
from .procedural_imagenet import ProceduralImageNet
from .seeding import SeededInfiniteSampler, SeededSamplesMixin
from .semi import SemiSegDataset, SemiSupervisedSampler
from .splits import (check_stems_exist, list_stems, published_split_to_ann_lines, seeded_split,
                     write_ann_file)
from .strong_views import PackSemiInputs, StrongViews
from .synthetic import generate
from .toyscenes import ToyScenesDataset, ToyScenesOoDDataset
from .transforms import CheckSegLabels
from .two_view import PackTwoViewInputs, TwoViewCrop
from .uda_datasets import GTA5Dataset, SynthiaDataset
from .unlabeled_folder import UnlabeledImageFolder

__all__ = [
    'check_stems_exist', 'CheckSegLabels', 'DomainAdaptationDataset', 'FishyscapesDataset',
    'generate', 'GTA5Dataset', 'ImageNetList', 'list_stems', 'PackSemiInputs',
    'PackTwoViewInputs', 'PasteOutliers', 'ProceduralImageNet', 'published_split_to_ann_lines',
    'RareClassSampledDataset', 'RoadAnomalyDataset', 'seeded_split', 'SeededInfiniteSampler',
    'SeededSamplesMixin', 'SemiSegDataset', 'SemiSupervisedSampler', 'SMIYCDataset',
    'StrongViews', 'SynthiaDataset', 'ToyScenesDataset', 'ToyScenesOoDDataset', 'TwoViewCrop',
    'UnlabeledImageFolder', 'write_ann_file'
]
