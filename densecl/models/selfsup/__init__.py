from .base_pretrainer import BaseMomentumPretrainer
from .data_preprocessor import TwoViewDataPreprocessor
from .densecl import DenseCL, dense_correspondence
from .pixpro import PixPro, pixcontrast_loss, pixpro_consistency_loss

__all__ = [
    'BaseMomentumPretrainer', 'DenseCL', 'dense_correspondence', 'PixPro', 'pixcontrast_loss',
    'pixpro_consistency_loss', 'TwoViewDataPreprocessor'
]
