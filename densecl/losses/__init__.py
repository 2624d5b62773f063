from .anchor_sampling import hard_anchor_sampling
from .base_pixel_contrast_loss import BasePixelContrastLoss
from .class_weighted_ce_loss import ClassWeightedCrossEntropyLoss
from .corocl_loss import CoroCLLoss
from .outlier_energy_loss import OutlierEnergyLoss
from .pixel_contrast_loss import PixelContrastLoss
from .prototype_contrast_loss import PrototypeContrastLoss
from .rpl_inlier_loss import RPLInlierLoss
from .sepico_contrast_loss import SePiCoContrastLoss
from .supcon_loss import PixelSupConLoss

__all__ = [
    'hard_anchor_sampling', 'BasePixelContrastLoss', 'ClassWeightedCrossEntropyLoss', 'CoroCLLoss',
    'OutlierEnergyLoss',
    'PixelContrastLoss', 'PixelSupConLoss', 'PrototypeContrastLoss', 'RPLInlierLoss',
    'SePiCoContrastLoss'
]
