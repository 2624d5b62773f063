"""demo/image_demo.py and densecl.apis: panels for plain and RPL models, bad input and
outputs that would replace the user's files."""
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

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
    """densecl.apis on a tool-trained RPL checkpoint give segmentation, anomaly map and panel."""
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
    """init_model refuses a tool-trained closed-set checkpoint in an RPL config."""
    from densecl.apis import init_model
    with pytest.raises(ValueError, match='no RPL residual block'):
        init_model(osp.join(ROOT, RPL_CONFIG), checkpoints[0], cfg_options=dict(TINY_MODEL))


def image_folder(toyscenes_root, folder):
    """The two ood_val images, a.png and a.jpg (same stem), a 5x300 strip and a broken file."""
    shutil.copytree(osp.join(toyscenes_root, 'img_dir', 'ood_val'), folder)
    for name, source in (('a.png', 'ood_val_00000.png'), ('a.jpg', 'ood_val_00001.png')):
        assert cv2.imwrite(str(folder / name), cv2.imread(str(folder / source)))
    assert cv2.imwrite(str(folder / 'thin.png'), np.full((5, 300, 3), 90, np.uint8))
    (folder / 'broken.png').write_bytes(b'not an image')
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def test_folder_mode_skips_bad_images_and_gives_each_input_its_own_panel(
        checkpoints, toyscenes_root, tmp_path):
    """The demo on a tool-trained RPL checkpoint skips bad images and draws one panel per input."""
    images = tmp_path / 'images'
    inputs = image_folder(toyscenes_root, images)
    out = tmp_path / 'out'
    result = demo(str(images), RPL_CONFIG, checkpoints[1], '--out-dir', str(out))
    assert result.returncode == 3, result.stderr[-2000:]  # some skipped, the others drawn
    assert f'skipped {images}/broken.png: cannot read image' in result.stderr
    # keep-ratio resize to 128x128: 5 * 128 / 300 -> 2 rows, under the model's 16
    assert f'skipped {images}/thin.png: image 5x300 is 2x128 after the test pipeline' \
        in result.stderr
    assert '2 of 6 images skipped' in result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        'a.jpg.png', 'a.png.png', 'contact_sheet.png', 'ood_val_00000.png.png',
        'ood_val_00001.png.png']
    assert (out / 'a.jpg.png').read_bytes() != (out / 'a.png.png').read_bytes()
    assert {path.name: path.read_bytes() for path in images.iterdir()} == inputs


def test_outputs_that_are_inputs_or_exist_are_refused(checkpoints, toyscenes_root, tmp_path):
    """The demo with a trained checkpoint won't overwrite an input, or an output without --force."""
    images = tmp_path / 'images'
    inputs = image_folder(toyscenes_root, images)
    into_inputs = demo(str(images), RPL_CONFIG, checkpoints[1], '--out-dir', str(images))
    assert into_inputs.returncode == 2
    assert f'--out-dir {images} is the input folder' in into_inputs.stderr
    image = images / 'a.png'
    over_input = demo(str(image), RPL_CONFIG, checkpoints[1], '--out-file', str(image),
                      '--force')
    assert over_input.returncode == 1 and f'{image} is also an input' in over_input.stderr
    assert {path.name: path.read_bytes() for path in images.iterdir()} == inputs
    out = tmp_path / 'panel.png'
    out.write_bytes(b'earlier result')
    again = demo(str(image), RPL_CONFIG, checkpoints[1], '--out-file', str(out))
    assert again.returncode == 1 and f'{out} exists; pass --force' in again.stderr
    assert out.read_bytes() == b'earlier result'
    forced = demo(str(image), RPL_CONFIG, checkpoints[1], '--out-file', str(out), '--force')
    assert forced.returncode == 0 and forced.stdout.strip().endswith(f'wrote {out}')
    assert cv2.imread(str(out)) is not None


def test_bad_output_device_and_empty_folder_are_refused(checkpoints, tmp_path):
    """The demo with a trained checkpoint refuses a file as --out-dir, a bad suffix, no images."""
    image = tmp_path / 'images' / 'a.png'
    image.parent.mkdir()
    assert cv2.imwrite(str(image), np.full((64, 64, 3), 90, np.uint8))
    a_file = tmp_path / 'a_file'
    a_file.write_text('not a folder')
    out_dir_file = demo(str(image.parent), RPL_CONFIG, checkpoints[1], '--out-dir', str(a_file))
    assert out_dir_file.returncode == 2
    assert f'--out-dir {a_file} is a file, not a folder' in out_dir_file.stderr
    no_suffix = demo(str(image), RPL_CONFIG, checkpoints[1], '--out-file', str(tmp_path / 'p'))
    assert no_suffix.returncode == 2
    assert f'--out-file {tmp_path}/p: cv2 cannot write this file type' in no_suffix.stderr
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'notes.txt').write_text('no image here')
    nothing = demo(str(empty), RPL_CONFIG, checkpoints[1], '--out-dir', str(tmp_path / 'out'))
    assert nothing.returncode == 1 and 'no image (.png' in nothing.stderr
    assert 'contact_sheet' not in nothing.stdout + nothing.stderr
    assert not (tmp_path / 'out').exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a machine without CUDA')
def test_cuda_device_on_a_machine_without_cuda_is_refused(checkpoints, toyscenes_root,
                                                          tmp_path):
    """The demo with a trained checkpoint refuses --device cuda without a GPU, no traceback."""
    image = osp.join(toyscenes_root, 'img_dir', 'ood_val', 'ood_val_00000.png')
    cuda = demo(image, RPL_CONFIG, checkpoints[1], '--out-file', str(tmp_path / 'c.png'),
                '--device', 'cuda')
    assert cuda.returncode == 1 and 'Traceback' not in cuda.stderr
    assert "device 'cuda': torch sees 0 CUDA GPU(s)" in cuda.stderr
    assert not (tmp_path / 'c.png').exists()


def test_single_image_of_a_plain_segmenter_and_a_mismatched_checkpoint(
        checkpoints, toyscenes_root, tmp_path):
    """The demo draws a trained plain segmenter; a tiny checkpoint in a wide config is refused."""
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
