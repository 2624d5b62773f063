import itertools
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, TRANSFORMS

from densecl.datasets import SeededInfiniteSampler
from densecl.datasets.synthetic import CLASSES, PALETTE

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/quickstart/fcn_r18-d16_1k_toyscenes-128x128.py')
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


@pytest.fixture
def corrupted_root(root, tmp_path):
    """A copy of the tiny toyscenes whose first train and val maps hold a
    9, outside the 8 classes, next to ignored pixels (255)."""
    copy = tmp_path / 'toyscenes'
    shutil.copytree(root, copy)
    for split in ('train', 'val'):
        path = copy / 'ann_dir' / split / f'{split}_00000.png'
        seg = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        seg[:4, :4], seg[-4:, -4:] = 9, 255
        cv2.imwrite(str(path), seg)
    return copy


@pytest.mark.parametrize('loader, pipeline', [
    ('train_dataloader', 'train_pipeline'),
    ('val_dataloader', 'test_pipeline'),
    ('test_dataloader', 'tta_pipeline'),
])
def test_shipped_pipelines_name_file_and_value_of_bad_label(
        corrupted_root, loader, pipeline):
    cfg = Config.fromfile(CONFIG)
    dataset_cfg = cfg[loader].dataset
    dataset_cfg.update(data_root=str(corrupted_root), pipeline=cfg[pipeline])
    dataset = DATASETS.build(dataset_cfg)
    split = 'train' if loader == 'train_dataloader' else 'val'
    with pytest.raises(ValueError) as error:
        dataset[0]
    assert f'ann_dir/{split}/{split}_00000.png' in str(error.value)
    assert '[9]' in str(error.value)
    assert dataset[1]  # a map with classes and 255 only passes


def test_check_seg_labels_accepts_classes_and_ignore():
    check = TRANSFORMS.build(dict(type='CheckSegLabels', num_classes=3))
    ok = {'gt_seg_map': np.array([[0, 1, 2, 255]], np.uint8)}
    assert check(ok) is ok
    no_labels = {'img': np.zeros((2, 2, 3), np.uint8)}  # inference: no LoadAnnotations
    assert check(no_labels) is no_labels
    with pytest.raises(ValueError, match=r'x.png: label value\(s\) \[3, 7\]'):
        check({'gt_seg_map': np.array([[0, 3, 7, 255]], np.uint8),
               'seg_map_path': 'x.png'})


def test_empty_split_folder_is_named(root, tmp_path):
    empty = tmp_path / 'img_dir' / 'train'
    empty.mkdir(parents=True)
    (tmp_path / 'ann_dir' / 'train').mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=str(empty)):
        build(str(tmp_path))


def test_seeded_sample_depends_only_on_its_seed(root):
    cfg = Config.fromfile(CONFIG)
    dataset = build(root, pipeline=cfg.train_pipeline)
    first = dataset[(0, 5)]['inputs']
    np.random.rand(7)  # draws in between change nothing
    before = np.random.get_state()[1].copy(), torch.get_rng_state()
    again = dataset[(0, 5)]['inputs']
    other = dataset[(0, 6)]['inputs']
    torch.testing.assert_close(again, first, rtol=0, atol=0)
    assert other.shape != first.shape or not torch.equal(other, first)
    # the global generators continue as if no sample had been loaded
    np.testing.assert_array_equal(np.random.get_state()[1], before[0])
    assert torch.equal(torch.get_rng_state(), before[1])


def test_seeded_sampler_splits_one_stream_across_ranks(root):
    dataset = build(root)
    single = SeededInfiniteSampler(dataset, seed=3)
    stream = list(itertools.islice(single, 12))
    assert sorted({index for index, _ in stream[:6]}) == list(range(6))
    assert len({seed for _, seed in stream}) == 12
    ranks = []
    for rank in range(2):
        sampler = SeededInfiniteSampler(dataset, seed=3)
        sampler.rank, sampler.world_size = rank, 2
        ranks.append(list(itertools.islice(sampler, 6)))
    assert ranks[0] == stream[0::2] and ranks[1] == stream[1::2]
