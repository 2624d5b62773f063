from .anomaly_encoder_decoder import AnomalyEncoderDecoder
from .prediction_sharing_encoder_decoder import PredictionSharingEncoderDecoder
from .rpl_encoder_decoder import RPLEncoderDecoder

__all__ = ['AnomalyEncoderDecoder', 'PredictionSharingEncoderDecoder', 'RPLEncoderDecoder']
