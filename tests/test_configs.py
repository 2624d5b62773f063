"""Every shipped config parses, and every base model builds and runs."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from densecl.engine import check_config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Segmenter bases; selfsup_r18-d16.py holds the backbone and preprocessor that the
# pretraining configs (configs/densecl, configs/pixpro) put into their own models.
MODEL_BASES = sorted(path for path in glob.glob(osp.join(ROOT, 'configs/_base_/models/*.py'))
                     if osp.basename(path) != 'selfsup_r18-d16.py')
FULL_CONFIGS = sorted(
    path for path in glob.glob(osp.join(ROOT, 'configs/**/*.py'),
                               recursive=True) if '_base_' not in path)


@pytest.mark.parametrize('path', FULL_CONFIGS, ids=osp.basename)
def test_full_config_passes_check(path):
    check_config(Config.fromfile(path))


@pytest.mark.parametrize('path', MODEL_BASES, ids=osp.basename)
def test_base_model_builds_and_segments(path):
    init_default_scope('mmseg')
    cfg = Config.fromfile(path)
    cfg.model.decode_head.num_classes = 5
    cfg.model.auxiliary_head.num_classes = 5
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        logits = model(torch.rand(1, 3, 64, 64), mode='tensor')
    # FCN predicts at the backbone's stride 8; DeepLabV3+ decodes to the
    # stride-4 low-level features
    stride = 4 if 'deeplabv3plus' in osp.basename(path) else 8
    assert logits.shape == (1, 5, 64 // stride, 64 // stride)


@pytest.mark.parametrize('path', sorted(glob.glob(osp.join(ROOT, 'configs/contrast/*.py'))),
                         ids=osp.basename)
def test_contrast_config_builds_with_its_contrast_head(path):
    import densecl  # noqa: F401  (registers ContrastHead)
    init_default_scope('mmseg')
    cfg = Config.fromfile(path)
    cfg.model.pretrained = None
    model = MODELS.build(cfg.model)
    heads = getattr(model, 'auxiliary_head', None)
    heads = heads if isinstance(heads, torch.nn.ModuleList) else [heads]
    name = osp.basename(path)
    is_baseline = 'contrastiveseg' not in name and 'supcon' not in name
    assert is_baseline != any(type(head).__name__ == 'ContrastHead' for head in heads)
