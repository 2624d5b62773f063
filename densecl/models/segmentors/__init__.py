from .anomaly_encoder_decoder import AnomalyEncoderDecoder
from .css_segmentor import CSSSegmentor
from .dssn_segmentor import DSSNSegmentor
from .prediction_sharing_encoder_decoder import PredictionSharingEncoderDecoder
from .rpl_encoder_decoder import RPLEncoderDecoder
from .semi_supervised_segmentor import SemiSupervisedSegmentor
from .sepico_segmentor import SePiCoSegmentor
from .weak_to_strong_segmentor import WeakToStrongSegmentor

__all__ = [
    'AnomalyEncoderDecoder', 'CSSSegmentor', 'DSSNSegmentor', 'PredictionSharingEncoderDecoder',
    'RPLEncoderDecoder', 'SemiSupervisedSegmentor', 'SePiCoSegmentor', 'WeakToStrongSegmentor'
]
