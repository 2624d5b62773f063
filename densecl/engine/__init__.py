from .. import compat  # noqa: F401  (without mmseg: ImportError naming the installs)
from .config import check_config, load_config

__all__ = ['check_config', 'load_config']
