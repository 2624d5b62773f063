import contextlib
import io
import json
import os
import os.path as osp
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, METRICS
from PIL import Image
from tool_testing import ROOT, load_tool

from densecl.datasets import rare_class_sampling, uda_datasets  # noqa: F401  (registers)
from densecl.datasets.fixtures.uda import FORMATS
from densecl.datasets.label_conversion import (CITYSCAPES_ID_TO_TRAINID, class_pixel_counts,
                                               convert_label, to_train_ids)
from densecl.datasets.rare_class_sampling import class_frequencies, rcs_class_probabilities
from densecl.datasets.seeding import seeded_rngs
from densecl.evaluation.subset_iou_metric import SYNTHIA_13, SYNTHIA_16  # registers the metric

# Hand-written expectations: train id of each Cityscapes label id 0-33 and of each
# SYNTHIA-RAND-CITYSCAPES class id 0-22.
CITYSCAPES_TRAIN_IDS = [255] * 7 + [
    0, 1, 255, 255, 2, 3, 4, 255, 255, 255, 5, 255, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 255, 255,
    16, 17, 18
]
SYNTHIA_TRAIN_IDS = [
    255, 10, 2, 0, 1, 4, 8, 5, 13, 7, 11, 18, 17, 255, 255, 6, 9, 12, 14, 15, 16, 3, 255
]
CITYSCAPES_CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
                      'traffic sign', 'vegetation', 'terrain', 'sky', 'person', 'rider', 'car',
                      'truck', 'bus', 'train', 'motorcycle', 'bicycle')
LOAD = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]


def png_rgb16(path, rgb):
    """Write a 16-bit RGB PNG by hand, channels stored in the order given."""
    h, w, _ = rgb.shape
    raw = b''.join(b'\0' + row.tobytes() for row in rgb.astype('>u2').reshape(h, w * 3))

    def chunk(tag, data):
        return struct.pack('>I', len(data)) + tag + data + struct.pack('>I', zlib.crc32(tag + data))

    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 16, 2, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))


def first_channel_of_png_rgb16(path):
    """The first stored channel of an unfiltered 16-bit RGB PNG, decoded by hand."""
    data = open(path, 'rb').read()[8:]
    chunks, pos = {}, 0
    while pos < len(data):
        size, tag = struct.unpack('>I4s', data[pos:pos + 8])
        chunks[tag] = chunks.get(tag, b'') + data[pos + 8:pos + 8 + size]
        pos += size + 12
    w, h, depth, color = struct.unpack('>IIBB', chunks[b'IHDR'][:10])
    assert (depth, color) == (16, 2)
    rows = np.frombuffer(zlib.decompress(chunks[b'IDAT']), np.uint8).reshape(h, 1 + w * 6)
    assert not rows[:, 0].any()  # filter type 0 (none) on every row
    return rows[:, 1:].copy().view('>u2').reshape(h, w, 3)[..., 0].astype(np.int64)


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """The three fixtures in their official layout, converted: gta5 by the CLI in a
    subprocess (with a process pool), the others by its ``main`` in this process."""
    init_default_scope('mmseg')
    root = str(tmp_path_factory.mktemp('uda'))
    counts = {name: write(osp.join(root, name), seed=0) for name, write in FORMATS.items()}
    script = osp.join(ROOT, 'tools', 'convert_datasets.py')
    run = subprocess.Popen([sys.executable, script, 'gta5', osp.join(root, 'gta5'), '--nproc', '2'],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tool = load_tool('convert_datasets')
    with contextlib.redirect_stdout(io.StringIO()):
        for name in ('cityscapes', 'synthia'):
            tool.main([name, osp.join(root, name), '--nproc', '1'])
    out = run.communicate(timeout=120)[0]
    assert run.returncode == 0 and 'gta5: converted 3, kept 0' in out, out
    return root, counts


def test_cityscapes_table():
    """Every Cityscapes label id 0-33 maps to its official train id, others to 255."""
    ids = np.arange(40)
    assert to_train_ids(ids, CITYSCAPES_ID_TO_TRAINID).tolist() == CITYSCAPES_TRAIN_IDS + [255] * 6


def test_cityscapes_label_png(tmp_path):
    """A hand-built labelIds PNG converts pixel by pixel, void ids to 255."""
    path = str(tmp_path / 'x_gtFine_labelIds.png')
    Image.fromarray(np.array([[7, 8, 0], [26, 33, 9]], np.uint8)).save(path)
    assert convert_label('cityscapes', path).tolist() == [[0, 1, 255], [13, 18, 255]]


def test_gta5_reads_palette_indices(tmp_path):
    """GTA5 labels are read as palette indices, whatever the palette colours."""
    path = str(tmp_path / '00001.png')
    image = Image.frombytes('P', (3, 2), np.array([[7, 26, 24], [3, 31, 13]], np.uint8).tobytes())
    image.putpalette([200, 100, 50] * 256)  # every index the same colour
    image.save(path)
    assert convert_label('gta5', path).tolist() == [[0, 13, 11], [255, 16, 4]]
    Image.new('RGB', (3, 2)).save(path)
    with pytest.raises(ValueError, match='palette'):
        convert_label('gta5', path)


def test_synthia_reads_first_stored_channel(tmp_path):
    """SYNTHIA's class is the first stored (R) channel of its 16-bit PNG, not G or B."""
    path = str(tmp_path / '0000000.png')
    r = np.array([[3, 8, 22], [10, 0, 21]])
    g = np.array([[2, 1000, 1], [2, 2, 300]])  # instance ids, some above 255
    b = np.full((2, 3), 1)
    png_rgb16(path, np.stack([r, g, b], axis=-1))
    assert convert_label('synthia', path).tolist() == [[0, 13, 255], [11, 255, 3]]


def test_class_pixel_counts():
    """Per-image pixel counts of the train ids present, 255 not counted."""
    assert class_pixel_counts(np.array([[0, 0, 5], [255, 5, 18]], np.uint8)) == {0: 2, 5: 2, 18: 1}


def test_cli_converts_fixtures(converted):
    """The CLI writes uint8 train id labels next to the raw ones, as the tables map them."""
    root, counts = converted
    assert counts == dict(cityscapes=dict(train=4, val=2), gta5=dict(train=3),
                          synthia=dict(train=3))
    raw = osp.join(root, 'cityscapes/gtFine/val/frankfurt/frankfurt_000000_000019_gtFine_')
    ids = np.array(Image.open(raw + 'labelIds.png'))
    with Image.open(raw + 'labelTrainIds.png') as out:
        assert out.mode == 'L'
        assert (np.array(out) == np.array(CITYSCAPES_TRAIN_IDS)[ids]).all()
    other = np.array(Image.open(raw.replace('000019', '000038') + 'labelIds.png'))
    assert sorted(np.unique([ids, other]).tolist()) == list(range(34))  # all ids in val

    ids = np.array(Image.open(osp.join(root, 'gta5/labels/00002.png')))
    out = np.array(Image.open(osp.join(root, 'gta5/labels/00002_labelTrainIds.png')))
    assert (out == np.array(CITYSCAPES_TRAIN_IDS)[ids]).all()

    ids = first_channel_of_png_rgb16(osp.join(root, 'synthia/GT/LABELS/0000001.png'))
    out = np.array(Image.open(osp.join(root, 'synthia/GT/LABELS/0000001_labelTrainIds.png')))
    assert (out == np.array(SYNTHIA_TRAIN_IDS)[ids]).all()


def test_cli_class_statistics(converted):
    """sample_class_stats.json counts each label's train ids; frequency.json sums them."""
    root, _ = converted
    for name in ('gta5', 'synthia'):
        stats = json.load(open(osp.join(root, name, 'sample_class_stats.json')))
        assert len(stats) == 3
        pixels = {}
        for entry in stats:
            out = np.array(Image.open(osp.join(root, name, entry.pop('file'))))
            assert {int(c): n for c, n in entry.items()} == {
                c: int((out == c).sum()) for c in range(19) if (out == c).any()}
            for c, n in entry.items():
                pixels[c] = pixels.get(c, 0) + n
        frequency = json.load(open(osp.join(root, name, 'frequency.json')))
        assert frequency['num_images'] == 3 and frequency['pixels'] == pixels
        assert abs(sum(frequency['frequency'].values()) - 1) < 1e-9
    # the fixture uses every SYNTHIA id, terrain, truck and train (16, 18, 20) included
    assert sorted(int(c) for c in frequency['pixels']) == list(range(19))


def test_cli_skips_converted_and_reports_missing(converted, tmp_path):
    """A second run keeps converted labels (unless --force); a missing folder is named."""
    root, _ = converted
    tool = load_tool('convert_datasets')
    out = osp.join(root, 'gta5/labels/00001_labelTrainIds.png')
    os.utime(out, (0, 0))
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tool.main(['gta5', osp.join(root, 'gta5'), '--nproc', '1'])
    assert 'converted 0, kept 3' in buffer.getvalue() and os.stat(out).st_mtime == 0
    with contextlib.redirect_stdout(buffer):
        tool.main(['gta5', osp.join(root, 'gta5'), '--nproc', '1', '--force'])
    assert os.stat(out).st_mtime > 0
    os.makedirs(tmp_path / 'synthia' / 'RGB')
    with pytest.raises(SystemExit, match=r'synthia/GT/LABELS does not exist'):
        tool.main(['synthia', str(tmp_path / 'synthia')])
    with pytest.raises(SystemExit, match=r'gtFine/train does not exist'):
        tool.main(['cityscapes', str(tmp_path)])


@pytest.mark.parametrize('name,cfg,raw', [
    ('gta5', dict(type='GTA5Dataset'), 'labels/00001.png'),
    ('synthia', dict(type='SynthiaDataset'), 'GT/LABELS/0000000.png'),
    ('cityscapes',
     dict(type='CityscapesDataset',
          data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train')),
     'gtFine/train/aachen/aachen_000000_000019_gtFine_labelIds.png'),
])
def test_datasets_load_converted_labels(converted, name, cfg, raw):
    """Each dataset finds its converted fixture and loads the expected train ids."""
    root, counts = converted
    dataset = DATASETS.build(dict(cfg, data_root=osp.join(root, name), pipeline=LOAD,
                                  lazy_init=False))
    assert len(dataset) == counts[name]['train']
    assert dataset.metainfo['classes'] == CITYSCAPES_CLASSES
    sample = dataset[0]
    if name == 'synthia':
        ids, table = first_channel_of_png_rgb16(osp.join(root, name, raw)), SYNTHIA_TRAIN_IDS
    else:
        ids, table = np.array(Image.open(osp.join(root, name, raw))), CITYSCAPES_TRAIN_IDS
    assert sample['img'].shape == (48, 96, 3)
    assert (sample['gt_seg_map'] == np.array(table)[ids]).all()


def test_dataset_errors_name_folder_and_command(converted, tmp_path):
    """Missing images, label folders or converted labels raise naming the fix."""
    root, _ = converted
    with pytest.raises(FileNotFoundError, match=r'image folder .*images does not exist'):
        DATASETS.build(dict(type='GTA5Dataset', data_root=str(tmp_path), pipeline=LOAD))
    os.makedirs(tmp_path / 'RGB')
    with pytest.raises(FileNotFoundError, match=r'GT/LABELS does not exist.*convert_datasets.py '
                       r'synthia'):
        DATASETS.build(dict(type='SynthiaDataset', data_root=str(tmp_path), pipeline=LOAD))
    FORMATS['gta5'](str(tmp_path / 'raw'), num_images=2)
    with pytest.raises(FileNotFoundError, match=r'2 of the 2 images have no converted label.*'
                       r'python tools/convert_datasets.py gta5 '):
        DATASETS.build(dict(type='GTA5Dataset', data_root=str(tmp_path / 'raw'), pipeline=LOAD))


def test_rcs_probabilities_hand_computed():
    """p_c = softmax((1 - f_c) / T), f_c the class's share of all labelled pixels."""
    stats = [{'file': 'a.png', '0': 500, '1': 100}, {'file': 'b.png', '0': 100, '5': 300}]
    assert class_frequencies(stats) == {0: 0.6, 1: 0.1, 5: 0.3}
    classes, probs = rcs_class_probabilities({0: 0.6, 1: 0.1, 5: 0.3}, temperature=0.1)
    # exp(4), exp(9), exp(7) normalised
    assert classes == [0, 1, 5]
    np.testing.assert_allclose(probs, [0.005900, 0.875601, 0.118500], atol=2e-6)
    classes, probs = rcs_class_probabilities({0: 0.5, 3: 0.5}, temperature=0.01)
    np.testing.assert_allclose(probs, [0.5, 0.5])


def write_stats(root):
    """Hand-made statistics of the three GTA5 fixture labels: totals 0: 6000, 1: 1500,
    5: 1500, 18: 1000 of 10000 pixels."""
    stats = [
        {'file': 'labels/00001_labelTrainIds.png', '0': 4000, '1': 1500},
        {'file': 'labels/00002_labelTrainIds.png', '0': 2000, '5': 500, '18': 950},
        {'file': 'labels/00003_labelTrainIds.png', '5': 1000, '18': 50},
    ]
    with open(osp.join(root, 'hand_stats.json'), 'w') as f:
        json.dump(stats, f)


def rcs_dataset(root, **kwargs):
    pipeline = LOAD + [dict(type='RandomCrop', crop_size=(32, 32)), dict(type='PackSegInputs')]
    cfg = dict(type='RareClassSampledDataset',
               dataset=dict(type='GTA5Dataset', data_root=root, pipeline=pipeline),
               stats_file='hand_stats.json', class_temp=0.1, min_pixels=900)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_rcs_draws_classes_and_images(converted):
    """RCS draws classes at their probabilities and only images with > min_pixels of them."""
    root = osp.join(converted[0], 'gta5')
    write_stats(root)
    dataset = rcs_dataset(root)
    assert len(dataset) == 3 and dataset.metainfo['classes'] == CITYSCAPES_CLASSES
    # f = 0.6, 0.15, 0.15, 0.1: p ∝ exp(4), exp(8.5), exp(8.5), exp(9)
    assert dataset.classes == [0, 1, 5, 18]
    np.testing.assert_allclose(dataset.class_probs, [0.00304, 0.27324, 0.27324, 0.45049],
                               atol=1e-5)
    allowed = {0: {0, 1}, 1: {0}, 5: {2}, 18: {1}}  # dataset indices of 00001..00003
    seen = {0: 0, 1: 0, 5: 0, 18: 0}
    with seeded_rngs(0):
        for i in range(3000):
            c, index = dataset.draw(i % 3)
            assert index in allowed[c]
            seen[c] += 1
    np.testing.assert_allclose([seen[c] / 3000 for c in (0, 1, 5, 18)],
                               [0.003, 0.273, 0.273, 0.450], atol=0.03)


def test_rcs_reproducible_from_seeds(converted):
    """The same (index, draw seed) and seed give the same sample; other seeds other draws."""
    root = osp.join(converted[0], 'gta5')
    write_stats(root)
    dataset = rcs_dataset(root)

    def draws(seed, draw_seed):
        dataset.seed = seed
        with seeded_rngs(draw_seed):
            return [dataset.draw(i % 3) for i in range(40)]

    assert draws(0, 1) == draws(0, 1)
    assert draws(0, 1) != draws(0, 2) and draws(0, 1) != draws(1, 1)
    dataset.seed = 0
    first, second = dataset[(2, 123)], dataset[(2, 123)]
    assert first['data_samples'].img_path == second['data_samples'].img_path
    assert torch.equal(first['inputs'], second['inputs'])
    assert first['inputs'].shape == (3, 32, 32)


def test_rcs_as_domain_adaptation_source(converted):
    """RareClassSampledDataset plugs in as DomainAdaptationDataset's source."""
    root = converted[0]
    write_stats(osp.join(root, 'gta5'))
    pipeline = LOAD + [dict(type='PackSegInputs')]
    dataset = DATASETS.build(dict(
        type='DomainAdaptationDataset',
        source=dict(type='RareClassSampledDataset',
                    dataset=dict(type='GTA5Dataset', data_root=osp.join(root, 'gta5'),
                                 pipeline=pipeline),
                    stats_file='hand_stats.json', min_pixels=900, min_crop_ratio=0),
        target=dict(type='CityscapesDataset', data_root=osp.join(root, 'cityscapes'),
                    data_prefix=dict(img_path='leftImg8bit/train', seg_map_path=''),
                    pipeline=[dict(type='LoadImageFromFile'), dict(type='PackSegInputs')])))
    assert (dataset.num_labeled, dataset.num_unlabeled) == (3, 4)
    assert dataset[(1, 7)]['data_samples'].img_path == dataset[(1, 7)]['data_samples'].img_path


def test_rcs_errors(converted):
    """A missing statistics file or a class with no image above min_pixels raises clearly."""
    root = osp.join(converted[0], 'gta5')
    write_stats(root)
    with pytest.raises(FileNotFoundError, match='convert_datasets.py'):
        rcs_dataset(root, stats_file='missing.json')
    with pytest.raises(ValueError, match=r'classes \[1, 5, 18\].*min_pixels=1600'):
        rcs_dataset(root, min_pixels=1600)


def test_subset_iou_metric_hand_computed():
    """mIoU over all classes and over SYNTHIA's 16 and 13 classes on a hand-built pair."""
    label = torch.tensor([[0, 0, 0, 0, 3], [3, 9, 9, 13, 255]])
    pred = torch.tensor([[0, 0, 0, 3, 3], [13, 9, 0, 13, 0]])
    # IoU road 3/5, wall 1/3, terrain 1/2, car 1/2; the other classes are absent (NaN)
    metric = METRICS.build(dict(type='SubsetIoUMetric',
                                class_subsets=dict(mIoU16=SYNTHIA_16, mIoU13=SYNTHIA_13)))
    metric.dataset_meta = dict(classes=CITYSCAPES_CLASSES)
    pair = [dict(pred_sem_seg=dict(data=pred[None]), gt_sem_seg=dict(data=label[None]))]
    metric.process({}, pair)
    result = metric.evaluate(1)
    assert result['mIoU'] == pytest.approx(48.33)  # (0.6 + 1/3 + 0.5 + 0.5) / 4
    assert result['mIoU16'] == pytest.approx(47.78)  # (0.6 + 1/3 + 0.5) / 3: no terrain
    assert result['mIoU13'] == pytest.approx(55.0)  # (0.6 + 0.5) / 2: no wall either
    assert len(SYNTHIA_16) == 16 and len(SYNTHIA_13) == 13
    assert set(CITYSCAPES_CLASSES) - set(SYNTHIA_16) == {'terrain', 'truck', 'train'}
    assert set(SYNTHIA_16) - set(SYNTHIA_13) == {'wall', 'fence', 'pole'}
    bad = METRICS.build(dict(type='SubsetIoUMetric', class_subsets=dict(mIoU2=['road', 'lane'])))
    bad.dataset_meta = dict(classes=CITYSCAPES_CLASSES)
    bad.process({}, pair)
    with pytest.raises(ValueError, match=r"\['lane'\]"):
        bad.evaluate(1)
