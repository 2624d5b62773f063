from .config_check import check_config

__all__ = ['check_config']
