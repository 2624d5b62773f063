import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

from densecl.datasets.synthetic import CLASSES, PALETTE

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


@pytest.fixture(scope='module')
def root(toyscenes_root):
    init_default_scope('mmseg')
    return toyscenes_root


def build(root, split='train', **kwargs):
    cfg = dict(
        type='ToyScenesDataset',
        data_root=root,
        data_prefix=dict(
            img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'),
        pipeline=PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


@pytest.mark.parametrize('split', ['train', 'target_train'])
def test_load_through_pipeline(root, split, toyscenes_counts):
    dataset = build(root, split)
    assert len(dataset) == toyscenes_counts[split]
    assert dataset.metainfo['classes'] == CLASSES
    assert dataset.metainfo['palette'] == PALETTE
    sample = dataset[0]
    assert sample['inputs'].shape == (3, 64, 64)
    seg = sample['data_samples'].gt_sem_seg.data
    assert seg.shape == (1, 64, 64)
    assert set(seg.unique().tolist()) <= set(range(len(CLASSES)))


def test_label_fraction_ann_file(root, toyscenes_counts):
    dataset = build(root, ann_file='splits/train_1-2.txt')
    assert len(dataset) == -(-toyscenes_counts['train'] // 2)  # ceil


def test_ood_dataset_carries_anomaly_path(root, toyscenes_counts):
    dataset = DATASETS.build(
        dict(type='ToyScenesOoDDataset', data_root=root, pipeline=PIPELINE))
    assert len(dataset) == toyscenes_counts['ood_val']
    info = dataset.get_data_info(0)
    assert info['anomaly_path'].endswith(
        'anomaly_dir/ood_val/ood_val_00000.png')
    mask = cv2.imread(info['anomaly_path'], cv2.IMREAD_UNCHANGED)
    seg = dataset[0]['data_samples'].gt_sem_seg.data[0].numpy()
    assert mask.any()
    np.testing.assert_array_equal(mask == 1, seg == 255)


def test_missing_folder_names_command(tmp_path):
    init_default_scope('mmseg')
    root = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError) as err:
        build(root)
    assert f'{root}/img_dir/train' in str(err.value)
    assert f'python tools/make_synthetic.py --out {root}' in str(err.value)
