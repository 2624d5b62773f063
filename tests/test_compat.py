import subprocess
import sys
import zipfile

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


def run_hiding(modules, code):
    """Run ``code`` in a fresh interpreter where ``modules`` look uninstalled."""
    hide = (
        'import sys\n'
        'class Hide:\n'
        '    def __init__(self, finder):\n'
        '        self.finder = finder\n'
        '    def __getattr__(self, name):\n'
        '        return getattr(self.finder, name)\n'
        '    def find_spec(self, name, path=None, target=None):\n'
        f'        if name.split(".")[0] in {tuple(modules)!r}:\n'
        '            return None\n'
        '        return self.finder.find_spec(name, path, target)\n'
        'sys.meta_path[:] = [Hide(finder) for finder in sys.meta_path]\n')
    return subprocess.run([sys.executable, '-c', hide + code],
                          capture_output=True, text=True)


def test_ops_import_without_any_openmmlab_package():
    code = ('import torch, densecl.ops\n'
            'print(densecl.ops.pixel_logsumexp(torch.eye(3)).shape)\n'
            'print(sorted(m for m in sys.modules if m.split(".")[0] in '
            '("mmseg", "mmengine", "mmcv")))\n')
    result = run_hiding(('mmseg', 'mmengine', 'mmcv'), code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split('\n')[:2] == ['torch.Size([3])', '[]']


def test_ops_import_does_not_patch_the_checkpoint_loader():
    """mmengine present, mmseg absent: ``import densecl.ops`` leaves mmengine alone."""
    code = ('import densecl.ops\n'
            'assert "mmengine" not in sys.modules\n'
            'from mmengine.runner import CheckpointLoader\n'
            'print(CheckpointLoader._get_checkpoint_loader("a.pth").__module__)\n')
    result = run_hiding(('mmseg', ), code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'mmengine.runner.checkpoint'


def test_densecl_import_installs_the_safe_loader():
    from mmengine.runner import CheckpointLoader
    assert CheckpointLoader._get_checkpoint_loader('a.pth') is safe_load_checkpoint


@pytest.mark.parametrize('part', ['densecl.compat', 'densecl.datasets', 'densecl.engine'])
def test_mmseg_parts_without_mmseg_name_both_installs(part):
    result = run_hiding(('mmseg', ), f'import {part}')
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


def test_numpy1_checkpoint_loads(tmp_path):
    """numpy 1.x pickled arrays and scalars as ``numpy.core.multiarray.*``; numpy 2
    writes ``numpy._core``. Rename the globals inside a fresh checkpoint's pickle."""
    numpy2_path, numpy1_path = tmp_path / 'numpy2.pth', tmp_path / 'numpy1.pth'
    checkpoint = mmengine_like_checkpoint()
    checkpoint['meta']['best_score'] = np.float64(0.75)      # a numpy scalar
    torch.save(checkpoint, numpy2_path)
    with zipfile.ZipFile(numpy2_path) as src, zipfile.ZipFile(numpy1_path, 'w') as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith('/data.pkl'):
                assert data.count(b'numpy._core.multiarray\n') >= 2
                data = data.replace(b'numpy._core.multiarray\n', b'numpy.core.multiarray\n')
            dst.writestr(info, data)
    for loader in (safe_load_checkpoint, _load_checkpoint):
        loaded = loader(str(numpy1_path))
        hub = MessageHub.get_instance('test_compat_numpy1')
        hub.load_state_dict(loaded['message_hub'])
        assert hub.get_scalar('train/loss').current() == 0.25
        assert type(hub.get_scalar('train/loss').data[0]) is np.ndarray
        assert loaded['meta']['best_score'] == np.float64(0.75)


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        safe_load_checkpoint(str(tmp_path / 'nope.pth'))


def test_getattr_outside_history_buffer_is_refused(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'fn': getattr(np.ndarray, 'tofile')}, path)
    with pytest.raises(UnsafeCheckpointError, match=r'getattr\(.*tofile'):
        safe_load_checkpoint(str(path))
