from .config import check_config, load_config

__all__ = ['check_config', 'load_config']
