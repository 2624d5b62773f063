from .contrast_head import ContrastHead
from .residual_aspp import ResidualASPP
from .sep_aspp_feature_head import SepASPPFeatureHead

__all__ = ['ContrastHead', 'ResidualASPP', 'SepASPPFeatureHead']
