import os
import os.path as osp
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint

from densecl.compat import (MM_STACK, CorruptCheckpointError, UnsafeCheckpointError,
                            safe_load_checkpoint)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
COMPAT = osp.join(ROOT, 'densecl', 'compat.py')


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
    with pytest.raises(UnsafeCheckpointError, match='Refusing to load') as error:
        loader(str(path))
    assert str(path) in str(error.value) and 'test_compat.Payload' in str(error.value)
    assert_no_unsafe_advice(error.value)


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
    with pytest.raises(UnsafeCheckpointError, match=r'getattr\(.*tofile') as error:
        safe_load_checkpoint(str(path))
    assert_no_unsafe_advice(error.value)


def assert_no_unsafe_advice(error):
    """Neither the message nor a chained one invites the user to unpickle the file anyway."""
    shown = [error, *([] if error.__suppress_context__ else [error.__context__]),
             error.__cause__]
    for message in (str(e) for e in shown if e is not None):
        assert 'weights_only' not in message and 'safe_globals' not in message


def zip_checkpoint_bytes(tmp_path):
    path = tmp_path / 'good.pth'
    torch.save(mmengine_like_checkpoint(), path)
    return path.read_bytes()


def legacy_checkpoint_bytes(tmp_path):
    path = tmp_path / 'legacy.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, path, _use_new_zipfile_serialization=False)
    return path.read_bytes()


def flip_middle_byte(data):
    data = bytearray(data)
    data[len(data) // 2] ^= 0xff
    return bytes(data)


# name: (file contents from a fresh checkpoint's bytes, what the message must say)
CORRUPT = {
    'empty': (lambda ckpt, legacy: b'', 'the file is empty'),
    'truncated': (lambda ckpt, legacy: ckpt[:len(ckpt) // 2], 'truncated or corrupt zip'),
    'no end': (lambda ckpt, legacy: ckpt[:-1], 'truncated or corrupt zip'),
    'bit flip': (lambda ckpt, legacy: flip_middle_byte(ckpt), 'fails its CRC check'),
    'text': (lambda ckpt, legacy: b'model weights, see README\n', 'not a PyTorch checkpoint'),
    'legacy truncated': (lambda ckpt, legacy: legacy[:200], 'truncated or corrupt'),
}


@pytest.mark.parametrize('loader', [
    safe_load_checkpoint, _load_checkpoint,
    lambda path: load_checkpoint(torch.nn.Linear(1, 1), path)
], ids=['safe_load_checkpoint', '_load_checkpoint', 'load_checkpoint'])
@pytest.mark.parametrize('name', list(CORRUPT))
def test_corrupt_checkpoint_names_the_file_and_the_problem(tmp_path, name, loader):
    """One message for every corrupt file, on the loader and mmengine's paths into it."""
    contents, problem = CORRUPT[name]
    path = tmp_path / 'iter_4.pth'
    path.write_bytes(contents(zip_checkpoint_bytes(tmp_path), legacy_checkpoint_bytes(tmp_path)))
    with pytest.raises(CorruptCheckpointError) as error:
        loader(str(path))
    assert str(error.value).startswith(f'Cannot load checkpoint {path}: ')
    assert problem in str(error.value)
    assert_no_unsafe_advice(error.value)


def test_legacy_checkpoint_still_loads(tmp_path):
    path = tmp_path / 'legacy.pth'
    path.write_bytes(legacy_checkpoint_bytes(tmp_path))
    assert torch.equal(safe_load_checkpoint(str(path))['state_dict']['w'], torch.ones(2))


def test_zip_that_is_not_a_checkpoint_is_named(tmp_path):
    path = tmp_path / 'weights.pth'
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('weights.txt', '1 2 3')
    with pytest.raises(CorruptCheckpointError, match='not one written by torch.save'):
        safe_load_checkpoint(str(path))


def test_test_tool_names_a_truncated_checkpoint(toyscenes_root, tmp_path):
    """tools/test.py loads through the safe loader: one line naming the file, no torch
    zip error."""
    path = tmp_path / 'iter_4.pth'
    path.write_bytes(zip_checkpoint_bytes(tmp_path)[:1000])
    options = [f'{loader}.dataset.data_root={toyscenes_root}'
               for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    result = subprocess.run(
        [sys.executable, 'tools/test.py',
         'configs/quickstart/fcn_r18-d16_1k_toyscenes-128x128.py', str(path),
         '--work-dir', str(tmp_path / 'work'), '--cfg-options', *options],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (f'densecl.compat.CorruptCheckpointError: Cannot load checkpoint {path}: '
                         'it is a truncated or corrupt zip archive (cut short by an '
                         'interrupted save or copy, or damaged)')
    assert 'PytorchStreamReader' not in result.stderr


def test_import_prints_no_notice_about_optional_onedl_parts():
    result = subprocess.run([sys.executable, '-c', 'import densecl'], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ''
    assert 'MultiScaleDeformableAttention' not in result.stderr


def test_only_the_onedl_notices_are_dropped(tmp_path):
    """A stand-in mmseg (and mmcv) whose import prints and warns the notices and more:
    everything else comes through, in order."""
    for package in ('mmseg/datasets', 'mmseg/models', 'mmcv/cnn/bricks'):
        (tmp_path / package).mkdir(parents=True)
    for package in ('mmseg', 'mmcv', 'mmcv/cnn', 'mmcv/cnn/bricks'):
        (tmp_path / package / '__init__.py').write_text('')
    notice = "warnings.warn('Fail to import ``MultiScaleDeformableAttention`` from x')\n"
    (tmp_path / 'mmcv/cnn/bricks/transformer.py').write_text('import warnings\n' + notice)
    (tmp_path / 'mmseg/datasets/__init__.py').write_text(
        "print('Could not import OneDL')\nprint('first')\n"
        "print('Could not import OneDL (and more)')\n")
    (tmp_path / 'mmseg/models/__init__.py').write_text(
        'import warnings\nimport mmcv.cnn.bricks.transformer\n'
        "warnings.warn('another warning')\nprint('second')\n")
    # densecl.compat alone, as the rest of the package needs the real mmseg.
    code = ('import importlib.util\n'
            f'spec = importlib.util.spec_from_file_location("compat", {COMPAT!r})\n'
            'spec.loader.exec_module(importlib.util.module_from_spec(spec))\n')
    result = subprocess.run([sys.executable, '-c', code],
                            env={**os.environ, 'PYTHONPATH': str(tmp_path)},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'first\nCould not import OneDL (and more)\nsecond\n'
    assert 'another warning' in result.stderr
    assert 'MultiScaleDeformableAttention' not in result.stderr
