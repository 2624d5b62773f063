"""demo/image_demo.py and densecl.apis: panels for plain and RPL models, bad input."""
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from rpl_testing import CLOSED_SET, ROOT, RPL, TINY_AUX, TINY_MODEL, run_tool

RPL_CONFIG = RPL.format('rpl_500')
OPTIONS = [f'{k}={v}' for k, v in TINY_MODEL.items()]


@pytest.fixture(scope='module')
def checkpoints(toyscenes_root, tmp_path_factory):
    work = tmp_path_factory.mktemp('demo_models')
    schedule = {'train_cfg.max_iters': 1, 'train_cfg.val_interval': 10,
                'default_hooks.checkpoint.interval': 1}
    run_tool('train', CLOSED_SET, str(work / 'closed'), toyscenes_root,
             options={**TINY_MODEL, **TINY_AUX, **schedule})
    closed = str(work / 'closed' / 'iter_1.pth')
    run_tool('train', RPL_CONFIG, str(work / 'rpl'), toyscenes_root, options={
        **TINY_MODEL, **schedule, 'model.closed_set_checkpoint': closed,
        'train_dataloader.dataset.pipeline.5.outlier_root': osp.join(toyscenes_root, 'outliers')})
    return closed, str(work / 'rpl' / 'iter_1.pth')


def demo(*args, options=OPTIONS):
    return subprocess.run([sys.executable, 'demo/image_demo.py', *args, '--cfg-options', *options]
                          if options else [sys.executable, 'demo/image_demo.py', *args],
                          cwd=ROOT, capture_output=True, text=True)


def test_apis_give_segmentation_and_anomaly_map(checkpoints, toyscenes_root):
    from densecl.apis import draw_panel, inference, init_model
    cfg_options = {k: v for k, v in TINY_MODEL.items()}
    image = osp.join(toyscenes_root, 'img_dir', 'ood_val', 'ood_val_00000.png')
    rpl = init_model(osp.join(ROOT, RPL_CONFIG), checkpoints[1], cfg_options=cfg_options)
    prediction = inference(rpl, image)
    assert prediction.segmentation.shape == prediction.anomaly_map.shape == (64, 64)
    meta = rpl.dataset_meta
    with_map = draw_panel(cv2.imread(image), prediction.segmentation, meta['classes'],
                          meta['palette'], prediction.anomaly_map)
    without = draw_panel(cv2.imread(image), prediction.segmentation, meta['classes'],
                         meta['palette'])
    assert with_map.dtype == np.uint8 and with_map.shape[1] > without.shape[1]


def test_closed_set_checkpoint_in_an_rpl_config_is_refused(checkpoints):
    from densecl.apis import init_model
    with pytest.raises(ValueError, match='no RPL residual block'):
        init_model(osp.join(ROOT, RPL_CONFIG), checkpoints[0], cfg_options=dict(TINY_MODEL))


def test_folder_mode_draws_the_readable_images_and_lists_the_failures(checkpoints,
                                                                      toyscenes_root, tmp_path):
    images = tmp_path / 'images'
    shutil.copytree(osp.join(toyscenes_root, 'img_dir', 'ood_val'), images)
    (images / 'broken.png').write_bytes(b'not an image')
    out = tmp_path / 'out'
    result = demo(str(images), RPL_CONFIG, checkpoints[1], '--out-dir', str(out))
    assert result.returncode == 1
    assert 'broken.png: cannot read image' in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ['contact_sheet.png', 'ood_val_00000.png',
                                                     'ood_val_00001.png']


def test_single_image_of_a_plain_segmenter_and_a_mismatched_checkpoint(
        checkpoints, toyscenes_root, tmp_path):
    image = osp.join(toyscenes_root, 'img_dir', 'val', 'val_00000.png')
    out = tmp_path / 'plain.png'
    plain = demo(image, 'configs/contrast/deeplabv3plus_r18-d16_1k_toyscenes-128x128.py',
                 checkpoints[0], '--out-file', str(out),
                 options=OPTIONS + [f'{k}={v}' for k, v in TINY_AUX.items()])
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert cv2.imread(str(out)) is not None
    wide = demo(image, RPL_CONFIG, checkpoints[1], '--out-file', str(tmp_path / 'x.png'),
                options=[])  # full-width config, tiny checkpoint
    assert wide.returncode == 1 and 'does not fit' in wide.stderr
