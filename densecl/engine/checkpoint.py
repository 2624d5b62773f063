"""Strict checkpoint loading for evaluation.

mmengine's Runner loads ``load_from`` non-strictly: a checkpoint of another
architecture or class count only logs a warning, and the tools would then
score a partly random model as if it were the checkpoint.
"""
from mmengine.runner import load_checkpoint

MISMATCH = 'The model and loaded state dict do not match'


def checkpoint_mismatch(model, filename):
    """Load ``filename`` into ``model`` strictly.

    Returns:
        str | None: None when every key fits, else mmengine's message naming
        the missing, unexpected and mis-sized keys (what was loadable is
        loaded).
    """
    try:
        load_checkpoint(model, filename, map_location='cpu', strict=True)
    except RuntimeError as error:
        if MISMATCH not in str(error):
            raise
        return str(error).strip()
    return None


def state_dict_mismatch(expected, state):
    """How ``state`` fails to fit ``expected`` (two state dicts), for messages that name keys.

    Returns:
        tuple[list, list, list]: keys of ``expected`` missing from ``state``,
        keys of ``state`` not in ``expected``, and keys present in both with
        another shape.
    """
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    reshaped = [key for key in expected if key in state and state[key].shape != expected[key].shape]
    return missing, unexpected, reshaped


def backbone_state_dict(checkpoint, source, prefix='backbone.'):
    """The ``prefix``* entries of a loaded checkpoint's state dict (the pretrained backbone).

    Raises:
        ValueError: when there are none, naming the top-level keys found (of
            the checkpoint, and the modules of its state dict), so that a
            wrong file is recognised at once.
    """
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{source}: not a checkpoint dict, got {type(checkpoint).__name__}')
    backbone = {key: value for key, value in state.items() if key.startswith(prefix)}
    if not backbone:
        modules = sorted({key.split('.')[0] for key in state})
        raise ValueError(
            f'{source} holds no pretraining encoder (no {prefix}* weights); top-level keys: '
            f'{sorted(checkpoint)}; state dict modules: {modules}')
    return backbone
