"""Two-view crops record their geometry; unlabeled folders; packing and preprocessing."""
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from densecl.datasets import PackTwoViewInputs, TwoViewCrop, UnlabeledImageFolder
from densecl.models.selfsup import TwoViewDataPreprocessor


def coordinate_image(height, width):
    """Channel 0 holds the column, channel 1 the row of each pixel (exact in uint8)."""
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack([cols, rows, np.zeros_like(rows)], -1).astype(np.uint8)


@pytest.mark.parametrize('flip_prob', [0.0, 1.0])
def test_views_show_the_recorded_boxes(flip_prob):
    np.random.seed(0)
    height, width = 40, 60
    # output as large as the crops cannot be: nearest content check on corners only
    results = TwoViewCrop(size=(20, 30), scale=(0.3, 0.6), flip_prob=flip_prob).transform(
        {'img': coordinate_image(height, width)})
    assert results['crop_boxes'].shape == (2, 4) and results['flips'].tolist() == [
        bool(flip_prob)] * 2
    for view, (x1, y1, x2, y2), flip in zip(results['img'], results['crop_boxes'],
                                            results['flips']):
        assert view.shape == (20, 30, 3)
        left, right = (view[:, -1, 0], view[:, 0, 0]) if flip else (view[:, 0, 0], view[:, -1, 0])
        # the first and last columns of the view lie within a pixel of the box edges
        assert abs(left.mean() - x1 * width) <= 1.5 and abs(right.mean() - x2 * width) <= 1.5
        assert abs(view[0, :, 1].mean() - y1 * height) <= 1.5
        assert abs(view[-1, :, 1].mean() - y2 * height) <= 1.5
        assert 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1


def test_bad_crop_arguments_are_named():
    with pytest.raises(ValueError, match='scale'):
        TwoViewCrop(size=8, scale=(0.5, 0.2))
    with pytest.raises(ValueError, match='size'):
        TwoViewCrop(size=(8, ))


def test_pack_and_preprocess_two_views():
    init_default_scope('mmseg')
    np.random.seed(1)
    results = TwoViewCrop(size=8).transform({'img': coordinate_image(16, 16), 'img_path': 'a'})
    packed = PackTwoViewInputs().transform(results)
    assert packed['inputs'].shape == (2, 3, 8, 8) and packed['inputs'].dtype == torch.uint8
    assert packed['data_samples'].img_path == 'a'
    np.testing.assert_array_equal(packed['data_samples'].crop_boxes, results['crop_boxes'])

    preprocessor = TwoViewDataPreprocessor(mean=[1., 2., 3.], std=[2., 2., 2.])
    out = preprocessor(dict(inputs=[packed['inputs']] * 3,
                            data_samples=[packed['data_samples']] * 3))
    assert len(out['inputs']) == 2 and out['inputs'][1].shape == (3, 3, 8, 8)
    expected = (packed['inputs'][1].float() - torch.tensor([1., 2., 3.])[:, None, None]) / 2
    torch.testing.assert_close(out['inputs'][1][0], expected)
    with pytest.raises(ValueError, match=r'\(2, C, H, W\)'):
        preprocessor(dict(inputs=[packed['inputs'][0]], data_samples=None))


def test_unlabeled_folder_lists_images_and_names_an_empty_folder(tmp_path):
    (tmp_path / 'imgs' / 'sub').mkdir(parents=True)
    (tmp_path / 'imgs' / 'notes.txt').write_text('x')
    with pytest.raises(FileNotFoundError, match=str(tmp_path / 'imgs')):
        UnlabeledImageFolder(data_root=str(tmp_path), data_prefix=dict(img_path='imgs'))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        UnlabeledImageFolder(data_root=str(tmp_path), data_prefix=dict(img_path='missing'))
    for name in ('b.png', 'sub/a.JPG'):
        (tmp_path / 'imgs' / name).write_bytes(b'')
    dataset = UnlabeledImageFolder(data_root=str(tmp_path), data_prefix=dict(img_path='imgs'))
    assert [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))] == [
        str(tmp_path / 'imgs' / 'b.png'), str(tmp_path / 'imgs' / 'sub/a.JPG')]
