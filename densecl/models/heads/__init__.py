from .contrast_head import ContrastHead

__all__ = ['ContrastHead']
