from .prediction_sharing_encoder_decoder import PredictionSharingEncoderDecoder

__all__ = ['PredictionSharingEncoderDecoder']
