"""densecl: dense and pixel-level contrastive learning on MMSegmentation 1.x.

With mmseg installed, importing the package registers its datasets,
transforms, hooks, losses and models in mmseg's registries and makes mmengine load
local checkpoints through :func:`densecl.compat.safe_load_checkpoint`, so
configs only need ``custom_imports=dict(imports=['densecl'])``. Without mmseg
only the pure-torch kernels of :mod:`densecl.ops` are available; importing a
part that needs mmseg then fails with the install commands.
"""
import importlib.util

from . import ops  # noqa: F401  (pure torch)

__version__ = '0.1.0'

if importlib.util.find_spec('mmseg') is not None:
    # The mmseg integration, and its one side effect on mmengine.
    from . import compat, datasets, engine, evaluation, losses, models  # noqa: F401
    compat.install_checkpoint_loader()
