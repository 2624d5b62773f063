"""Scripts of tools/ imported as modules, for tests that call their functions."""
import hashlib
import importlib.util
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_tool(name):
    """``tools/<name>.py`` executed as a fresh module named ``name``."""
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pretrained_settings(path):
    """The JSON settings entry a benchmark writes for ``--init pretrained --pretrained path``,
    its sha256 computed here."""
    with open(path, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {'init': 'pretrained', 'pretrained': {'path': path, 'sha256': digest}}
