from .anchor_sampling import hard_anchor_sampling
from .base_pixel_contrast_loss import BasePixelContrastLoss
from .pixel_contrast_loss import PixelContrastLoss
from .supcon_loss import PixelSupConLoss

__all__ = [
    'hard_anchor_sampling', 'BasePixelContrastLoss', 'PixelContrastLoss', 'PixelSupConLoss'
]
