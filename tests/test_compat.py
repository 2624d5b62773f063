import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

from densecl.compat import (MM_STACK, UnsafeCheckpointError,
                            safe_load_checkpoint)


class Payload:
    """Stands for an arbitrary pickled object inside a foreign checkpoint."""

    def __init__(self):
        self.value = 1


def mmengine_like_checkpoint():
    """What mmengine's Runner.save_checkpoint writes, message hub included."""
    hub = MessageHub.get_instance('test_compat')
    hub.update_scalar('train/loss', 0.5)
    hub.update_scalar('train/loss', np.float64(0.25))
    hub.update_info('iter', 3)
    hub.update_info('dataset_meta', dict(classes=('a', 'b'), palette=[[1, 2, 3]]))
    return dict(
        meta=dict(epoch=0, iter=3, seed=0, mmengine_version='x', cfg='a=1'),
        state_dict={'w': torch.ones(2)},
        message_hub=hub.state_dict(),
        optimizer={'state': {0: {'momentum_buffer': torch.zeros(2)}},
                   'param_groups': [{'lr': 0.01, 'params': [0]}]},
        param_schedulers=[dict(base_lrs=[0.01], last_epoch=3)])


def test_stack_detected():
    assert MM_STACK in ('onedl', 'upstream')


def test_import_without_mmseg_names_both_installs():
    code = 'import sys; sys.modules["mmseg"] = None; import densecl'
    result = subprocess.run([sys.executable, '-c', code],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "pip install -e '.[onedl]'" in result.stderr
    assert 'make test-upstream' in result.stderr


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path):
    path = tmp_path / 'iter_3.pth'
    torch.save(mmengine_like_checkpoint(), path)
    loaded = safe_load_checkpoint(str(path))
    hub = MessageHub.get_instance('test_compat_loaded')
    hub.load_state_dict(loaded['message_hub'])
    assert hub.get_scalar('train/loss').current() == 0.25
    assert hub.get_info('iter') == 3
    # the path mmengine's Runner.resume / load_checkpoint takes
    via_mmengine = _load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(via_mmengine['state_dict']['w'], torch.ones(2))


@pytest.mark.parametrize('loader', [safe_load_checkpoint, _load_checkpoint])
def test_foreign_pickled_object_is_refused(tmp_path, loader):
    path = tmp_path / 'evil.pth'
    checkpoint = mmengine_like_checkpoint()
    checkpoint['meta']['payload'] = Payload()
    torch.save(checkpoint, path)
    with pytest.raises(UnsafeCheckpointError, match='Refusing to load'):
        loader(str(path))


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        safe_load_checkpoint(str(tmp_path / 'nope.pth'))


def test_getattr_outside_history_buffer_is_refused(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'fn': getattr(np.ndarray, 'tofile')}, path)
    with pytest.raises(UnsafeCheckpointError, match=r'getattr\(.*tofile'):
        safe_load_checkpoint(str(path))
