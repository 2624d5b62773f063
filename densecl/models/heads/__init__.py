from .contrast_head import ContrastHead
from .deeplabv2_head import DeepLabV2Head
from .densecl_neck import DenseCLNeck
from .pixpro_neck import PixelPropagation, PixProNeck
from .prototype_contrast_head import PrototypeContrastHead
from .rpl_residual_block import RPLResidualBlock
from .sep_aspp_feature_head import SepASPPFeatureHead
from .sepico_projection_head import SePiCoProjectionHead

__all__ = [
    'ContrastHead', 'DeepLabV2Head', 'DenseCLNeck', 'PixelPropagation', 'PixProNeck',
    'PrototypeContrastHead',
    'RPLResidualBlock', 'SepASPPFeatureHead', 'SePiCoProjectionHead'
]
