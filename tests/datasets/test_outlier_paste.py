"""PasteOutliers: pasted pixels are labelled as outliers, flagged context samples, bad folders."""
import os.path as osp

import numpy as np
import pytest

from densecl.datasets import PasteOutliers


def scene():
    return {'img': np.full((64, 64, 3), 7, np.uint8), 'gt_seg_map': np.full((64, 64), 3, np.uint8)}


def test_pasted_object_is_labelled_where_the_image_changed(toyscenes_root):
    np.random.seed(0)
    paste = PasteOutliers(osp.join(toyscenes_root, 'outliers'), scale=(0.4, 0.6))
    results = paste.transform(scene())
    labelled = results['gt_seg_map'] == 254
    changed = (results['img'] != 7).any(-1)
    assert 0.05 * 64 * 64 < labelled.sum() < 0.4 * 64 * 64
    assert not (changed & ~labelled).any()  # nothing changes outside the object
    assert (results['gt_seg_map'][~labelled] == 3).all()


def test_context_sample_is_the_outlier_crop_with_context_inliers_and_is_flagged(toyscenes_root):
    np.random.seed(0)
    paste = PasteOutliers(osp.join(toyscenes_root, 'outliers'), context_prob=1.0, context_label=5)
    results = paste.transform(scene())
    values = set(np.unique(results['gt_seg_map']).tolist())
    assert values == {254, 5} and results['img'].shape == (64, 64, 3)
    assert results['outlier_context'] is True
    # the crop is black around the object (up to the resized boundary)
    black = (results['img'] == 0).all(-1)
    context = results['gt_seg_map'] == 5
    assert black[context].mean() > 0.9 and black[~context].mean() < 0.1
    pasted = PasteOutliers(osp.join(toyscenes_root, 'outliers')).transform(scene())
    assert pasted['outlier_context'] is False


def test_prob_zero_leaves_the_sample_alone(toyscenes_root):
    results = PasteOutliers(osp.join(toyscenes_root, 'outliers'), prob=0.0).transform(scene())
    assert (results['gt_seg_map'] == 3).all() and (results['img'] == 7).all()


def test_missing_bank_names_the_folder_and_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'nowhere needs img/ and mask/.*make_synthetic'):
        PasteOutliers(str(tmp_path / 'nowhere'))
