"""densecl.apis.inference: paths and arrays give one prediction; bad input fails naming why."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from densecl.apis import inference, init_model

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/rpl/deeplabv3plus_r18-d16_closed-set_1k_toyscenes-128x128.py')


@pytest.fixture(scope='module')
def model():
    """The closed-set energy model, random weights: validation needs no training."""
    from mmengine.model import revert_sync_batchnorm
    from mmseg.apis import init_model as init_mmseg_model
    torch.manual_seed(0)
    return revert_sync_batchnorm(init_mmseg_model(CONFIG, None, device='cpu')).eval()


@pytest.fixture(scope='module')
def gray():
    """A (64, 64) uint8 image whose BGR form has three equal channels."""
    return np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)


def assert_same(prediction, expected):
    np.testing.assert_array_equal(prediction.segmentation, expected.segmentation)
    np.testing.assert_array_equal(prediction.anomaly_map, expected.anomaly_map)


def test_str_path_pathlib_path_gray_and_bgra_give_the_bgr_prediction(model, gray, tmp_path):
    bgr = np.dstack([gray] * 3)
    expected = inference(model, bgr)
    assert expected.segmentation.shape == expected.anomaly_map.shape == (64, 64)
    other = bgr.copy()
    other[..., 0] = 0  # one channel off changes the map: the comparisons below can fail
    assert not np.array_equal(inference(model, other).anomaly_map, expected.anomaly_map)
    path = tmp_path / 'gray.png'
    assert cv2.imwrite(str(path), bgr)
    assert_same(inference(model, str(path)), expected)
    assert_same(inference(model, path), expected)
    assert_same(inference(model, gray), expected)
    assert_same(inference(model, gray[..., None]), expected)
    alpha = np.full((64, 64, 1), 7, np.uint8)
    assert_same(inference(model, np.concatenate([bgr, alpha], axis=2)), expected)


@pytest.mark.parametrize('image, error, message', [
    (np.zeros((64, 64, 3)), ValueError, 'dtype float64; models take uint8'),
    (np.zeros((64, 64, 3), np.uint16), ValueError, 'dtype uint16; models take uint8'),
    ([np.zeros((64, 64, 3), np.uint8)], TypeError, 'numpy array, got list; pass one image'),
    (torch.zeros(64, 64, 3, dtype=torch.uint8), TypeError, 'numpy array, got Tensor'),
    (np.zeros((64, 64, 2), np.uint8), ValueError, r'shape \(64, 64, 2\); give \(H, W, 3\)'),
    (np.zeros((2, 64, 64, 3), np.uint8), ValueError, r'shape \(2, 64, 64, 3\)'),
    (np.zeros((0, 0, 3), np.uint8), ValueError, r'image is empty \(0x0\)'),
    (np.zeros((5, 0), np.uint8), ValueError, r'image is empty \(5x0\)'),
    # the test pipeline's keep-ratio resize to 128x128 scales by 128 / 300: 5 -> 2 rows
    (np.zeros((5, 300, 3), np.uint8), ValueError, 'image 5x300 is 2x128 after the test pipeline'),
    (np.zeros((15, 128, 3), np.uint8), ValueError, 'image 15x128 is 15x128 .* under the 16'),
])
def test_bad_arrays_are_refused_naming_the_problem(model, image, error, message):
    with pytest.raises(error, match=message):
        inference(model, image)


def test_smallest_side_the_model_takes_is_16_after_the_resize(model):
    prediction = inference(model, np.zeros((16, 128, 3), np.uint8))
    assert prediction.segmentation.shape == prediction.anomaly_map.shape == (16, 128)


def test_missing_folder_and_undecodable_paths_are_refused(model, tmp_path):
    with pytest.raises(FileNotFoundError, match=f'image {tmp_path}/none.png not found'):
        inference(model, tmp_path / 'none.png')
    with pytest.raises(IsADirectoryError, match=f'image {tmp_path} is a folder'):
        inference(model, str(tmp_path))
    (tmp_path / 'broken.png').write_bytes(b'not an image')
    with pytest.raises(ValueError, match=f'cannot read image {tmp_path}/broken.png: not an'):
        inference(model, tmp_path / 'broken.png')


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a machine without CUDA')
def test_init_model_refuses_a_device_torch_does_not_have_before_building(tmp_path):
    missing = str(tmp_path / 'none.pth')  # the device is checked first
    with pytest.raises(ValueError, match=r"device 'cuda': torch sees 0 CUDA GPU\(s\)"):
        init_model(CONFIG, missing, device='cuda')
    with pytest.raises(ValueError, match="device 'gpu': Expected one of cpu, cuda"):
        init_model(CONFIG, missing, device='gpu')
