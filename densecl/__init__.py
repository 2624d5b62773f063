"""densecl: dense and pixel-level contrastive learning on MMSegmentation 1.x.

Importing the package registers its datasets, transforms, hooks, losses and
models in mmseg's registries, so configs only need
``custom_imports=dict(imports=['densecl'])``.
"""
from .compat import MM_STACK  # noqa: F401  (fails early with a clear message)
from . import datasets, engine, ops  # noqa: F401

__version__ = '0.1.0'
