"""OoD benchmark datasets on tiny copies of the official layouts, the COCO outlier bank tool."""
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS
from tool_testing import ROOT, load_tool

from densecl.datasets import PasteOutliers
from densecl.datasets.fixtures.ood import FORMATS
from densecl.datasets.ood_datasets import FishyscapesDataset, RoadAnomalyDataset, SMIYCDataset
from densecl.evaluation import OoDMetric

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    init_default_scope('mmseg')
    base = tmp_path_factory.mktemp('ood')
    roots = {}
    for name, write in FORMATS.items():
        roots[name] = str(base / name)
        write(roots[name], seed=0)
    return roots


def expected_labels(index, void_rows):
    """Labels of fixture frame ``index``, as the fixture's docstring states them."""
    labels = np.zeros((48, 96), np.uint8)
    labels[:void_rows] = 255
    labels[28:38, 8 + 24 * index:24 + 24 * index] = 1
    return labels


def labels_of(dataset, index):
    sample = dataset[index]
    assert sample['inputs'].shape == (3, 48, 96)
    return sample['data_samples'].gt_sem_seg.data[0].numpy()


def names(dataset):
    return [osp.basename(dataset.get_data_info(i)['img_path']) for i in range(len(dataset))]


@pytest.mark.parametrize('split, count', [('LostAndFound', 2), ('Static', 3)])
def test_fishyscapes_lists_the_split_and_loads_0_1_255_labels(roots, split, count):
    """Each Fishyscapes split lists its PNGs and loads labels 0 / 1 / 255 unchanged."""
    dataset = FishyscapesDataset(data_root=roots['fishyscapes'], split=split, pipeline=PIPELINE,
                                 lazy_init=False)
    assert names(dataset) == [f'{i}.png' for i in range(count)]
    for i in range(count):
        np.testing.assert_array_equal(labels_of(dataset, i), expected_labels(i, 8))
    info = dataset.get_data_info(1)
    assert info['anomaly_path'] == info['seg_map_path'] == osp.join(
        roots['fishyscapes'], split, 'labels', '1.png')


@pytest.mark.parametrize('variant, data_root', [('preprocessed', 'preprocessed'),
                                                ('raw', 'raw'),
                                                ('raw', 'raw/RoadAnomaly_jpg')])
def test_road_anomaly_variants_give_anomaly_1_and_road_0(roots, variant, data_root):
    """Both Road Anomaly layouts list the frames; the raw anomaly value 2 becomes 1, road 0."""
    dataset = RoadAnomalyDataset(data_root=osp.join(roots['roadanomaly'], data_root),
                                 variant=variant, pipeline=PIPELINE, lazy_init=False)
    assert names(dataset) == ['animals01_fixture_calves.jpg', 'cones01_fixture_cones.jpg']
    for i in range(2):
        np.testing.assert_array_equal(labels_of(dataset, i), expected_labels(i, 0))
    raw_file = cv2.imread(dataset.get_data_info(0)['seg_map_path'], cv2.IMREAD_UNCHANGED)
    if variant == 'raw':
        assert sorted(np.unique(raw_file).tolist()) == [0, 1, 2]
        assert 'anomaly_path' not in dataset.get_data_info(0)
    else:
        assert sorted(np.unique(raw_file).tolist()) == [0, 1]


@pytest.mark.parametrize('track, files, void_rows', [
    ('anomaly', ['validation0000.jpg', 'validation0001.jpg'], 8),
    ('obstacle', ['validation_1.webp', 'validation_2.webp'], 24)])
def test_smiyc_lists_labelled_frames_of_the_track(roots, track, files, void_rows):
    """A SMIYC track lists only its labelled frames (not the test frame nor colour maps)."""
    dataset = SMIYCDataset(data_root=roots['smiyc'], track=track, pipeline=PIPELINE,
                           lazy_init=False)
    assert names(dataset) == files
    for i in range(2):
        np.testing.assert_array_equal(labels_of(dataset, i), expected_labels(i, void_rows))
    assert dataset.get_data_info(0)['seg_map_path'].endswith(
        f'labels_masks/{files[0].split(".")[0]}_labels_semantic.png')


@pytest.mark.parametrize('base, key, value', [('fishyscapes', 'split', 'Static'),
                                              ('road_anomaly', 'variant', 'raw'),
                                              ('smiyc', 'track', 'obstacle')])
def test_config_bases_build_on_the_fixtures(roots, base, key, value):
    """The shipped dataset bases build their dataset, with the documented override."""
    cfg = Config.fromfile(osp.join(ROOT, f'configs/_base_/datasets/{base}.py'))
    dataset_cfg = cfg.ood_test_dataloader.dataset
    root = roots[base.replace('_', '')]
    dataset_cfg.update({'data_root': root if base != 'road_anomaly' else osp.join(root, 'raw'),
                        key: value, 'lazy_init': False})
    dataset = DATASETS.build(dataset_cfg)
    assert len(dataset) == {'fishyscapes': 3, 'road_anomaly': 2, 'smiyc': 2}[base]
    assert cfg.ood_test_evaluator.anomaly_labels == 'gt_sem_seg'


def test_ood_metric_on_a_fixture_sample_gives_the_hand_computed_auroc(roots):
    """OoDMetric on Fishyscapes frame 0 with a band of score 1 over its anomaly."""
    dataset = FishyscapesDataset(data_root=roots['fishyscapes'], pipeline=PIPELINE,
                                 lazy_init=False)
    sample = dataset[0]['data_samples'].to_dict()
    scores = torch.zeros(1, 48, 96)
    scores[:, 28:38] = 1.0  # rows of the anomaly, all columns
    sample['pred_anomaly_map'] = {'data': scores}
    metric = OoDMetric(anomaly_labels='gt_sem_seg')
    metric.process({}, [sample])
    result = metric.compute_metrics(metric.results)
    # 8 void rows left out; 160 anomalies (all score 1); 3680 inliers, 800 of them in the band
    # (tied with the anomalies, counting half) and 2880 below: (2880 + 400) / 3680
    assert result['AUROC'] == pytest.approx(100 * 3280 / 3680)
    assert result['AP'] == pytest.approx(100 * 160 / 960)  # one threshold: precision 160/960


def test_coco_tool_writes_the_bank_without_cityscapes_or_small_images(roots, tmp_path):
    """The bank keeps images without Cityscapes classes and with sides >= 480, masks 0/1."""
    tool = load_tool('make_coco_outliers')
    out = str(tmp_path / 'bank')
    counts = tool.make_bank(roots['coco-outliers'], out)
    assert counts == dict(cityscapes=1, small=1, missing=0, written=2, compressed_rle_skipped=0)
    assert sorted(os.listdir(osp.join(out, 'img'))) == ['000000000001.png', '000000000004.png']
    assert sorted(os.listdir(osp.join(out, 'mask'))) == ['000000000001.png', '000000000004.png']
    mask = cv2.imread(osp.join(out, 'mask', '000000000001.png'), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (480, 512) and sorted(np.unique(mask).tolist()) == [0, 1]
    assert mask[51:150, 101:200].all()  # inside the dog polygon x 100-200, y 50-150
    assert not mask[45, 150] and not mask[100, 95] and not mask[155, 150]
    assert mask[200:220, 300:310].all()  # the crowd RLE, rows 200-219, columns 300-309
    assert not mask[199, 305] and not mask[220, 305] and not mask[210, 310]
    assert mask.sum() in range(100 * 100 + 200, 101 * 101 + 200 + 1)  # polygon edge convention
    empty = cv2.imread(osp.join(out, 'mask', '000000000004.png'), cv2.IMREAD_UNCHANGED)
    assert empty.shape == (480, 512) and not empty.any()  # no annotations: empty, as released
    img = cv2.imread(osp.join(out, 'img', '000000000001.png'))
    jpg = cv2.imread(osp.join(roots['coco-outliers'], 'train2017', '000000000001.jpg'))
    np.testing.assert_array_equal(img, jpg)
    assert tool.make_bank(roots['coco-outliers'], str(tmp_path / 'one'), num_images=1)[
        'written'] == 1
    assert len(os.listdir(tmp_path / 'one' / 'mask')) == 1


def test_paste_outliers_reads_the_coco_bank(roots, tmp_path):
    """PasteOutliers loads the bank and labels pasted COCO object pixels 254."""
    out = str(tmp_path / 'bank')
    load_tool('make_coco_outliers').main(['--coco', roots['coco-outliers'], '--out', out])
    paste = PasteOutliers(out, scale=(0.5, 0.9))
    assert paste.names == ['000000000001.png', '000000000004.png']
    pasted = 0
    for seed in range(8):
        np.random.seed(seed)
        results = paste.transform({'img': np.zeros((64, 64, 3), np.uint8),
                                   'gt_seg_map': np.full((64, 64), 3, np.uint8)})
        assert set(np.unique(results['gt_seg_map']).tolist()) <= {3, 254}
        pasted += (results['gt_seg_map'] == 254).any()
    assert pasted > 0


@pytest.mark.parametrize('cls, kwargs, folder', [
    (FishyscapesDataset, {}, 'LostAndFound/original'),
    (RoadAnomalyDataset, {}, 'original'),
    (RoadAnomalyDataset, {'variant': 'raw'}, 'RoadAnomaly_jpg'),
    (SMIYCDataset, {'track': 'obstacle'}, 'dataset_ObstacleTrack')])
def test_missing_layout_names_the_folder(tmp_path, cls, kwargs, folder):
    """A missing benchmark folder raises FileNotFoundError naming the folder looked for."""
    init_default_scope('mmseg')
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / folder))):
        cls(data_root=str(tmp_path), pipeline=PIPELINE, lazy_init=False, **kwargs)


@pytest.mark.parametrize('cls, kwargs, known', [
    (FishyscapesDataset, {'split': 'Web'}, 'LostAndFound, Static'),
    (RoadAnomalyDataset, {'variant': 'jpg'}, 'preprocessed, raw'),
    (SMIYCDataset, {'track': 'laf'}, 'anomaly, obstacle')])
def test_unknown_variant_names_the_known_ones(tmp_path, cls, kwargs, known):
    """An unknown split / variant / track raises ValueError listing the known ones."""
    with pytest.raises(ValueError, match=known):
        cls(data_root=str(tmp_path), pipeline=PIPELINE, **kwargs)


def test_coco_tool_names_missing_annotations(tmp_path):
    """The COCO tool stops with the missing path when the COCO layout is not there."""
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / 'train2017'))):
        load_tool('make_coco_outliers').make_bank(str(tmp_path), str(tmp_path / 'out'))
