from .semi_data_preprocessor import SemiDataPreProcessor

__all__ = ['SemiDataPreProcessor']
