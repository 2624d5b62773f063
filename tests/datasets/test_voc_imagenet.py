import os.path as osp
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS
from PIL import Image
from scipy.io import loadmat

from tool_testing import load_tool

import densecl.datasets  # noqa: F401  (registers CheckSegLabels, TwoViewCrop, ...)
import densecl.datasets.imagenet_list  # noqa: F401  (registers ImageNetList)
from densecl.datasets.fixtures.classic import FORMATS, write_imagenet, write_voc

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# The fixture's tables, worked out by hand: aug = SBD train + val + VOC train - VOC val.
AUG_IDS = ['2007_000032', '2007_000039', '2007_000063', '2008_000002', '2008_000003',
           '2008_000008']
VOC_VAL_IDS = ['2007_000033', '2007_000042']
# 48 x 64 maps: object box rows 12-35, columns 16-47; VOC's 255 ring on row 11.
CENTRE, RING, CORNER = (24, 32), (11, 32), (0, 0)
IMAGENET_FILES = [f'{wnid}/{wnid}_{n}.JPEG' for wnid in ('n01440764', 'n01443537', 'n01484850')
                  for n in (10026, 10027)]


def convert(root, *extra):
    """Run the converter in this process on the fixture under ``root``."""
    load_tool('convert_voc_aug').main(
        [str(root / 'VOCdevkit'), str(root / 'benchmark_RELEASE'), *extra])


def aug_label(root, stem):
    return np.array(Image.open(root / 'VOCdevkit/VOC2012/SegmentationClassAug' / f'{stem}.png'))


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """The VOC fixture converted by the command line tool with two processes."""
    root = tmp_path_factory.mktemp('voc')
    write_voc(str(root))
    run = subprocess.run(
        [sys.executable, 'tools/convert_voc_aug.py', str(root / 'VOCdevkit'),
         str(root / 'benchmark_RELEASE'), '--nproc', '2'],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return root, run.stdout


def test_voc_fixture_layout(tmp_path):
    """write_voc writes VOC's palette PNGs, lists and SBD's GTcls .mat files."""
    assert FORMATS['voc'] is write_voc and FORMATS['imagenet'] is write_imagenet
    counts = write_voc(str(tmp_path))
    assert counts == dict(images=9, voc_train=3, voc_val=2, sbd_train=4, sbd_val=2)
    voc = tmp_path / 'VOCdevkit/VOC2012'
    assert (voc / 'ImageSets/Segmentation/val.txt').read_text() == '2007_000033\n2007_000042\n'
    png = Image.open(voc / 'SegmentationClass/2007_000032.png')
    assert png.mode == 'P' and png.getpalette()[3:6] == [128, 0, 0]  # VOC colour of class 1
    # read as mmseg's tools/dataset_converters/voc_aug.py reads SBD
    mat = loadmat(tmp_path / 'benchmark_RELEASE/dataset/cls/2007_000032.mat')
    seg = mat['GTcls'][0]['Segmentation'][0]
    assert seg.dtype == np.uint8 and seg.shape == (48, 64)
    assert (seg[CENTRE], seg[RING]) == (2, 0)


def test_aug_list_and_labels_written(converted):
    """trainaug.txt is the hand-computed id set, and every VOC or SBD labelled id gets a PNG."""
    root, stdout = converted
    voc = root / 'VOCdevkit/VOC2012'
    assert (voc / 'ImageSets/Segmentation/trainaug.txt').read_text().splitlines() == AUG_IDS
    written = sorted(p.name for p in (voc / 'SegmentationClassAug').iterdir())
    assert written == sorted(f'{stem}.png' for stem in AUG_IDS + VOC_VAL_IDS)
    assert '5 labels from VOC, 3 from SBD' in stdout
    assert '6 training images (the official releases give 10582)' in stdout


def test_voc_label_wins_over_sbd(converted):
    """Images VOC labels keep VOC's classes and 255 ring, not SBD's classes."""
    root, _ = converted
    label = aug_label(root, '2007_000032')  # VOC train 1, SBD train 2
    assert label.dtype == np.uint8 and label.ndim == 2
    assert (label[CENTRE], label[RING], label[CORNER]) == (1, 255, 0)
    assert aug_label(root, '2007_000039')[CENTRE] == 20  # VOC train 20, SBD val 19
    assert aug_label(root, '2007_000033')[CENTRE] == 3  # VOC val 3, SBD train 4


def test_sbd_only_images_get_sbd_labels(converted):
    """Images only SBD labels get SBD's class, no void ring, in the image's orientation."""
    root, _ = converted
    label = aug_label(root, '2008_000002')
    assert Image.open(root / 'VOCdevkit/VOC2012/SegmentationClassAug/2008_000002.png').mode == 'L'
    assert (label[CENTRE], label[RING], label[CORNER]) == (15, 0, 0)
    portrait = aug_label(root, '2008_000003')
    assert portrait.shape == (64, 48) and portrait[32, 24] == 12
    assert aug_label(root, '2008_000008')[CENTRE] == 7


def test_rerun_keeps_done_labels_unless_forced(tmp_path, capsys):
    """A rerun keeps existing PNGs (even edited ones); --force rewrites them."""
    write_voc(str(tmp_path))
    convert(tmp_path)
    out = tmp_path / 'VOCdevkit/VOC2012/SegmentationClassAug/2007_000032.png'
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(out)
    convert(tmp_path)
    assert '0 labels from VOC, 0 from SBD, 8 already there' in capsys.readouterr().out
    assert aug_label(tmp_path, '2007_000032')[CENTRE] == 0
    convert(tmp_path, '--force')
    assert '5 labels from VOC, 3 from SBD, 0 already there' in capsys.readouterr().out
    assert aug_label(tmp_path, '2007_000032')[CENTRE] == 1


@pytest.mark.parametrize('remove, message', [
    ('VOCdevkit', 'VOC folder {root}/VOCdevkit does not exist'),
    ('VOCdevkit/VOC2012/SegmentationClass', 'VOC label folder {root}/VOCdevkit/VOC2012/'
     'SegmentationClass does not exist'),
    ('VOCdevkit/VOC2012/ImageSets/Segmentation/val.txt', 'list file {root}/VOCdevkit/VOC2012/'
     'ImageSets/Segmentation/val.txt does not exist'),
    ('benchmark_RELEASE/dataset/cls', 'SBD folder {root}/benchmark_RELEASE holds neither '
     'dataset/cls nor cls'),
    ('VOCdevkit/VOC2012/JPEGImages/2008_000008.jpg', '1 listed label or image files are '
     'missing, e.g. {root}/VOCdevkit/VOC2012/JPEGImages/2008_000008.jpg'),
], ids=['voc', 'voc-labels', 'voc-val-list', 'sbd-cls', 'image'])
def test_missing_input_exits_naming_it(tmp_path, remove, message):
    """A missing folder, list or image stops the converter with a message naming it."""
    write_voc(str(tmp_path))
    path = tmp_path / remove
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    with pytest.raises(SystemExit) as error:
        convert(tmp_path)
    assert str(error.value.code) == 'error: ' + message.format(root=tmp_path)


def test_rgb_voc_label_rejected(tmp_path):
    """A VOC label re-saved as RGB is refused: its colours are not class indices."""
    write_voc(str(tmp_path))
    png = tmp_path / 'VOCdevkit/VOC2012/SegmentationClass/2007_000063.png'
    Image.open(png).convert('RGB').save(png)
    with pytest.raises(SystemExit, match='label PNG of mode RGB'):
        convert(tmp_path)


def voc_dataset(root, which, pipeline=None):
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/datasets/voc12_aug.py'))
    dataset = cfg[f'{which}_dataloader'].dataset
    dataset.data_root = str(root / 'VOCdevkit/VOC2012')
    if pipeline is not None:
        dataset.pipeline = pipeline
    return DATASETS.build(dataset)


def test_mmseg_voc_dataset_reads_converted_labels(converted):
    """The voc12_aug base's datasets load the converted aug labels and VOC's val labels."""
    root, _ = converted
    load = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
    train = voc_dataset(root, 'train', load)
    assert type(train).__name__ == 'PascalVOCDataset' and len(train) == 6
    stems = [osp.basename(train.get_data_info(i)['img_path'])[:-4] for i in range(6)]
    assert stems == AUG_IDS
    voc_sample = train[stems.index('2007_000032')]['gt_seg_map']
    sbd_sample = train[stems.index('2008_000002')]['gt_seg_map']
    assert (voc_sample[CENTRE], voc_sample[RING]) == (1, 255)
    assert (sbd_sample[CENTRE], sbd_sample[RING]) == (15, 0)
    val = voc_dataset(root, 'val', load)
    assert len(val) == 2
    assert tuple(val[1]['gt_seg_map'][[CENTRE[0], RING[0]], CENTRE[1]]) == (5, 255)


def test_voc12_aug_train_pipeline_runs(converted):
    """The base's train pipeline gives a 512 x 512 crop labelled with the image's classes."""
    root, _ = converted
    sample = voc_dataset(root, 'train')[AUG_IDS.index('2008_000002')]
    assert tuple(sample['inputs'].shape) == (3, 512, 512)
    labels = set(np.unique(sample['data_samples'].gt_sem_seg.data.numpy()).tolist())
    assert labels <= {0, 15, 255} and 15 in labels


def test_imagenet_fixture_and_folder_walk(tmp_path):
    """ImageNetList without a list file walks train/ and finds the six fixture images."""
    assert write_imagenet(str(tmp_path)) == dict(classes=3, images=6)
    assert (tmp_path / 'meta/train.txt').read_text().splitlines()[1] == \
        'n01440764/n01440764_10027.JPEG 0'
    dataset = DATASETS.build(dict(type='ImageNetList', data_root=str(tmp_path), pipeline=[]))
    assert [dataset[i] for i in range(len(dataset))] == [
        dict(img_path=str(tmp_path / 'train' / name), sample_idx=i)
        for i, name in enumerate(IMAGENET_FILES)]


def test_imagenet_list_file_and_two_view_pipeline(tmp_path):
    """The list file gives the same images; the selfsup base's two-view pipeline runs on them."""
    write_imagenet(str(tmp_path))
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/datasets/imagenet_selfsup.py'))
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.update(data_root=str(tmp_path), ann_file='meta/train.txt')
    init_default_scope('mmseg')
    dataset = DATASETS.build(dataset_cfg)
    assert [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))] == [
        str(tmp_path / 'train' / name) for name in IMAGENET_FILES]
    first, again = dataset[(0, 7)], dataset[(0, 7)]
    assert [tuple(view.shape) for view in first['inputs']] == [(3, 224, 224)] * 2
    assert all((a == b).all() for a, b in zip(first['inputs'], again['inputs']))


@pytest.mark.parametrize('lines, message', [
    (['n01440764/n01440764_10026.JPEG 0', '', 'n01440764/n01440764_10027.JPEG 0 extra'],
     'line 3'),
    (['n01440764/n01440764_10026.JPEG tench'], 'line 1'),
    (['n01440764/n01440764_10026.JPEG', '/abs/n01440764_10027.JPEG 0'], 'line 2'),
    (['n01440764/n01440764_10026.JPEG 0', 'n01440764/n01440764_99999.JPEG 0'],
     r'line 2: .*n01440764_99999.JPEG does not exist \(1 of 2'),
], ids=['fields', 'label', 'absolute', 'missing-file'])
def test_imagenet_list_rejects_bad_line(tmp_path, lines, message):
    """A malformed line or a listed image that does not exist raises naming its line."""
    write_imagenet(str(tmp_path))
    (tmp_path / 'bad.txt').write_text('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=message):
        DATASETS.build(dict(type='ImageNetList', data_root=str(tmp_path), ann_file='bad.txt'))


def test_imagenet_missing_folder_or_list(tmp_path):
    """A missing image folder or list file raises FileNotFoundError naming it."""
    folder, listed = tmp_path / 'train', tmp_path / 'meta' / 'val.txt'
    with pytest.raises(FileNotFoundError, match=re.escape(f'{folder} does not exist')):
        DATASETS.build(dict(type='ImageNetList', data_root=str(tmp_path)))
    write_imagenet(str(tmp_path))
    with pytest.raises(FileNotFoundError, match=re.escape(f'image list {listed} does not')):
        DATASETS.build(dict(type='ImageNetList', data_root=str(tmp_path),
                            ann_file='meta/val.txt'))
