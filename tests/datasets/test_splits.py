import os.path as osp
import subprocess
import sys

import pytest
from mmseg.datasets import BaseSegDataset

from tool_testing import load_tool

from densecl.datasets import (check_stems_exist, list_stems, published_split_to_ann_lines,
                              seeded_split, write_ann_file)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CITY_DIR = 'leftImg8bit/train'
CITY_SUFFIX = '_leftImg8bit.png'
CITY_LABEL_SUFFIX = '_gtFine_labelTrainIds.png'
# 16 Cityscapes-like stems in two city folders, written out by hand.
CITY_STEMS = ([f'aachen/aachen_{i:06d}_000019' for i in range(8)]
              + [f'bochum/bochum_{i:06d}_000313' for i in range(8)])
# Seed 0 picks, computed by hand as the first stems by sha256 of '0:<stem>'
# (e.g. `printf '0:aachen/aachen_000004_000019' | sha256sum`).
PINNED_SEED0_TWO = ['aachen/aachen_000004_000019', 'bochum/bochum_000006_000313']
PINNED_SEED0_FOUR = ['aachen/aachen_000000_000019', 'aachen/aachen_000004_000019',
                     'aachen/aachen_000006_000019', 'bochum/bochum_000006_000313']


def touch(root, *paths):
    for path in paths:
        file = root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.touch()


def city_tree(root):
    """A Cityscapes-like tree with CITY_STEMS, their labels and stray files."""
    touch(root, *(f'{CITY_DIR}/{stem}{CITY_SUFFIX}' for stem in CITY_STEMS))
    touch(root, *(f'gtFine/train/{stem}{CITY_LABEL_SUFFIX}' for stem in CITY_STEMS))
    touch(root, f'{CITY_DIR}/aachen/aachen_000000_000019_gtFine_color.png',
          f'{CITY_DIR}/README.txt')
    return root


def voc_tree(root, names):
    touch(root, *(f'JPEGImages/{name}.jpg' for name in names))
    touch(root, *(f'SegmentationClass/{name}.png' for name in names))
    return root


def test_voc_lines_to_stems():
    """VOC lines (two paths, one path, Aug labels, blank, CRLF) give the bare image ids."""
    lines = [
        'JPEGImages/2007_000733.jpg SegmentationClass/2007_000733.png\n',
        '\n',
        'JPEGImages/2010_004493.jpg SegmentationClassAug/2010_004493.png\r\n',
        'JPEGImages/2007_000032.jpg\n',
        '   \n',
    ]
    assert published_split_to_ann_lines(lines, 'JPEGImages', '.jpg') == [
        '2007_000733', '2010_004493', '2007_000032'
    ]
    assert published_split_to_ann_lines(lines, 'JPEGImages/', '.jpg') == [
        '2007_000733', '2010_004493', '2007_000032'
    ]


def test_cityscapes_lines_to_stems():
    """Cityscapes lines keep the city folder and drop the _leftImg8bit.png ending."""
    lines = [
        'leftImg8bit/train/jena/jena_000078_000019_leftImg8bit.png '
        'gtFine/train/jena/jena_000078_000019_gtFine_labelTrainIds.png',
        'leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png '
        'gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png',
    ]
    assert published_split_to_ann_lines(lines, CITY_DIR, CITY_SUFFIX) == [
        'jena/jena_000078_000019', 'aachen/aachen_000000_000019'
    ]


@pytest.mark.parametrize('bad, reason', [
    ('SegmentationClass/2007_000042.png JPEGImages/2007_000042.jpg', 'not under'),
    ('JPEGImages2/2007_000042.jpg SegmentationClass/2007_000042.png', 'not under'),
    ('JPEGImages/../2007_000042.jpg SegmentationClass/2007_000042.png', 'not under'),
    ('JPEGImages/2007_000042.png SegmentationClass/2007_000042.png', "end with '.jpg'"),
    ('JPEGImages/.jpg SegmentationClass/2007_000042.png', "end with '.jpg'"),
])
def test_bad_line_raises_with_line_number(bad, reason):
    """A line outside img_dir or with another ending raises naming its number and text."""
    lines = ['JPEGImages/2007_000032.jpg SegmentationClass/2007_000032.png', '', bad]
    with pytest.raises(ValueError, match='line 3') as error:
        published_split_to_ann_lines(lines, 'JPEGImages', '.jpg')
    assert reason in str(error.value)
    assert bad.split()[0] in str(error.value)


def test_seeded_split_reproducible_disjoint_complete():
    """One seed gives one split; the parts are sorted, disjoint and cover every stem."""
    labeled, unlabeled = seeded_split(CITY_STEMS, 5, seed=3)
    assert (labeled, unlabeled) == seeded_split(CITY_STEMS, 5, seed=3)
    assert len(labeled) == 5 and len(unlabeled) == 11
    assert labeled == sorted(labeled) and unlabeled == sorted(unlabeled)
    assert not set(labeled) & set(unlabeled)
    assert sorted(labeled + unlabeled) == CITY_STEMS
    other = seeded_split(CITY_STEMS, 8, seed=4)[0]
    assert other != seeded_split(CITY_STEMS, 8, seed=3)[0]


def test_seeded_split_pinned():
    """The seed-0 split is pinned: a change would silently change users' published splits."""
    assert seeded_split(CITY_STEMS, 2, seed=0)[0] == PINNED_SEED0_TWO
    assert seeded_split(CITY_STEMS, 4, seed=0)[0] == PINNED_SEED0_FOUR


def test_seeded_split_ignores_input_order():
    """Shuffled or reversed input gives the same split as sorted input."""
    shuffled = CITY_STEMS[5:] + CITY_STEMS[:5][::-1]
    assert seeded_split(shuffled, 6, 0) == seeded_split(CITY_STEMS, 6, 0)
    assert seeded_split(reversed(CITY_STEMS), 6, 0) == seeded_split(CITY_STEMS, 6, 0)


@pytest.mark.parametrize('num_labeled, expected', [('1/8', 2), (0.25, 4), ('0.5', 8),
                                                   ('3', 3), (16, 16), ('1/100', 1)])
def test_seeded_split_fractions(num_labeled, expected):
    """Counts and fractions of 16 stems: '1/8' -> 2, 0.25 -> 4, '1/100' -> at least 1."""
    labeled, unlabeled = seeded_split(CITY_STEMS, num_labeled, seed=0)
    assert len(labeled) == expected and len(unlabeled) == 16 - expected


@pytest.mark.parametrize('num_labeled, message', [
    (17, 'num_labeled 17 is larger than the number of stems, 16'),
    (0, 'num_labeled 0 is below 1 (of 16 stems)'),
    ('-2', 'num_labeled -2 is below 1 (of 16 stems)'),
    ('3/2', 'neither a whole count nor a fraction'),
    ('eight', 'neither a count nor a fraction'),
])
def test_seeded_split_rejects_bad_counts(num_labeled, message):
    """Impossible counts raise naming the count and the number of stems."""
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)')):
        seeded_split(CITY_STEMS, num_labeled, seed=0)


def test_seeded_split_rejects_duplicates():
    """A stem listed twice raises instead of landing in both parts."""
    with pytest.raises(ValueError, match='listed twice'):
        seeded_split(CITY_STEMS + CITY_STEMS[:1], 2, seed=0)


def test_list_stems_nested_folders(tmp_path):
    """Stems of nested city folders, sorted, skipping files of other endings."""
    city_tree(tmp_path)
    assert list_stems(str(tmp_path), CITY_DIR, CITY_SUFFIX) == CITY_STEMS
    assert list_stems(str(tmp_path), 'leftImg8bit/train/', CITY_SUFFIX) == CITY_STEMS


def test_list_stems_missing_or_empty_folder(tmp_path):
    """A missing folder, or one without the suffix, raises naming the folder."""
    with pytest.raises(FileNotFoundError, match='JPEGImages does not exist'):
        list_stems(str(tmp_path), 'JPEGImages', '.jpg')
    touch(tmp_path, 'JPEGImages/2007_000032.png')
    with pytest.raises(ValueError, match=r"JPEGImages holds no file ending in '\.jpg'"):
        list_stems(str(tmp_path), 'JPEGImages', '.jpg')


def test_check_stems_exist(tmp_path):
    """Missing images raise with how many and the first of them; present ones pass."""
    voc_tree(tmp_path, ['2007_000032'])
    check_stems_exist(['2007_000032'], str(tmp_path), 'JPEGImages', '.jpg')
    with pytest.raises(FileNotFoundError, match='2 of 3 images are missing') as error:
        check_stems_exist(['2007_000032', '2007_000033', '2007_000039'], str(tmp_path),
                          'JPEGImages', '.jpg')
    assert osp.join(str(tmp_path), 'JPEGImages', '2007_000033.jpg') in str(error.value)


@pytest.mark.parametrize('layout', ['voc', 'cityscapes'])
def test_ann_file_loads_in_mmseg(tmp_path, layout):
    """mmseg's BaseSegDataset reads a written ann_file back as the intended image/label paths."""
    if layout == 'voc':
        stems = ['2007_000733', '2010_004493']
        voc_tree(tmp_path, stems)
        prefix = dict(img_path='JPEGImages', seg_map_path='SegmentationClass')
        suffixes = dict(img_suffix='.jpg', seg_map_suffix='.png')
        img_paths = ['JPEGImages/2007_000733.jpg', 'JPEGImages/2010_004493.jpg']
        seg_paths = ['SegmentationClass/2007_000733.png', 'SegmentationClass/2010_004493.png']
    else:
        stems = ['bochum/bochum_000001_000313', 'aachen/aachen_000000_000019']
        city_tree(tmp_path)
        prefix = dict(img_path=CITY_DIR, seg_map_path='gtFine/train')
        suffixes = dict(img_suffix=CITY_SUFFIX, seg_map_suffix=CITY_LABEL_SUFFIX)
        img_paths = [
            'leftImg8bit/train/bochum/bochum_000001_000313_leftImg8bit.png',
            'leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png'
        ]
        seg_paths = [
            'gtFine/train/bochum/bochum_000001_000313_gtFine_labelTrainIds.png',
            'gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png'
        ]
    write_ann_file(str(tmp_path / 'splits' / 'labeled.txt'), stems)
    dataset = BaseSegDataset(
        data_root=str(tmp_path),
        data_prefix=prefix,
        ann_file='splits/labeled.txt',
        lazy_init=False,
        **suffixes)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [info['img_path'] for info in infos] == [str(tmp_path / p) for p in img_paths]
    assert [info['seg_map_path'] for info in infos] == [str(tmp_path / p) for p in seg_paths]


@pytest.fixture(scope='module')
def cli_runs(tmp_path_factory):
    """convert and generate run as subprocesses, started together to keep the module fast."""
    tmp = tmp_path_factory.mktemp('cli')
    voc = voc_tree(tmp / 'voc', ['2007_000032', '2007_000033', '2007_000039', '2007_000042'])
    (tmp / 'labeled.txt').write_text(
        'JPEGImages/2007_000039.jpg SegmentationClass/2007_000039.png\n'
        'JPEGImages/2007_000032.jpg SegmentationClass/2007_000032.png\n')
    (tmp / 'unlabeled.txt').write_text(
        'JPEGImages/2007_000033.jpg SegmentationClass/2007_000033.png\n'
        'JPEGImages/2007_000042.jpg SegmentationClass/2007_000042.png\n')
    city = city_tree(tmp / 'cityscapes')
    commands = dict(
        convert=['convert', '--preset', 'voc', '--data-root', str(voc), '--labeled',
                 str(tmp / 'labeled.txt'), '--unlabeled', str(tmp / 'unlabeled.txt'),
                 '--out-dir', str(tmp / 'convert')],
        generate=['generate', '--data-root', str(city), '--img-dir', CITY_DIR, '--img-suffix',
                  CITY_SUFFIX, '--num-labeled', '1/8', '--seed', '0', '--out-dir',
                  str(tmp / 'generate')])
    procs = {
        name: subprocess.Popen([sys.executable, 'tools/make_splits.py', *args], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, args in commands.items()
    }
    runs = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        runs[name] = (proc.returncode, stdout, stderr, tmp / name)
    return runs


def read_lines(path):
    return path.read_text().splitlines()


def test_cli_convert(cli_runs):
    """convert writes the published VOC split as bare ids, in file order, and prints counts."""
    rc, stdout, stderr, out = cli_runs['convert']
    assert rc == 0, stderr
    assert read_lines(out / 'labeled.txt') == ['2007_000039', '2007_000032']
    assert read_lines(out / 'unlabeled.txt') == ['2007_000033', '2007_000042']
    assert f'{out / "labeled.txt"}: 2 images' in stdout
    assert f'{out / "unlabeled.txt"}: 2 images' in stdout


def test_cli_generate(cli_runs):
    """generate --num-labeled 1/8 of 16 writes the pinned 2 labelled and the 14 others."""
    rc, stdout, stderr, out = cli_runs['generate']
    assert rc == 0, stderr
    assert read_lines(out / 'labeled.txt') == PINNED_SEED0_TWO
    unlabeled = read_lines(out / 'unlabeled.txt')
    assert unlabeled == [stem for stem in CITY_STEMS if stem not in PINNED_SEED0_TWO]
    assert 'seed 0: 2 of 16 images' in stdout


def test_cli_missing_image_fails(tmp_path):
    """convert of a split naming an absent image exits with a message naming it, writes nothing."""
    voc = voc_tree(tmp_path / 'voc', ['2007_000032'])
    (tmp_path / 'missing.txt').write_text(
        'JPEGImages/2007_000032.jpg SegmentationClass/2007_000032.png\n'
        'JPEGImages/2011_000001.jpg SegmentationClass/2011_000001.png\n')
    with pytest.raises(SystemExit) as error:
        load_tool('make_splits').main([
            'convert', '--preset', 'voc', '--data-root', str(voc), '--labeled',
            str(tmp_path / 'missing.txt'), '--out-dir', str(tmp_path / 'out')])
    message = str(error.value.code)
    assert 'missing.txt: 1 of 2 images are missing' in message
    assert str(voc / 'JPEGImages' / '2011_000001.jpg') in message
    assert not (tmp_path / 'out').exists()


def test_cli_preset_and_overrides():
    """--preset fills img-dir/img-suffix, explicit flags win, and no preset needs both flags."""
    parse = load_tool('make_splits').parse_args
    common = ['--data-root', 'root', '--out-dir', 'out', '--num-labeled', '1/8']
    args = parse(['generate', '--preset', 'cityscapes', *common])
    assert (args.img_dir, args.img_suffix) == ('leftImg8bit/train', '_leftImg8bit.png')
    args = parse(['generate', '--preset', 'voc', *common])
    assert (args.img_dir, args.img_suffix) == ('JPEGImages', '.jpg')
    args = parse(['generate', '--preset', 'cityscapes', '--img-dir', 'leftImg8bit/val', *common])
    assert (args.img_dir, args.img_suffix) == ('leftImg8bit/val', '_leftImg8bit.png')
    with pytest.raises(SystemExit):
        parse(['generate', '--img-dir', 'JPEGImages', *common])


def test_cli_convert_warns_on_overlap(tmp_path, capsys):
    """An image in both the labelled and unlabelled split is reported on stderr."""
    voc = voc_tree(tmp_path / 'voc', ['2007_000032', '2007_000033'])
    (tmp_path / 'l.txt').write_text('JPEGImages/2007_000032.jpg\n')
    (tmp_path / 'u.txt').write_text('JPEGImages/2007_000033.jpg\nJPEGImages/2007_000032.jpg\n')
    load_tool('make_splits').main([
        'convert', '--preset', 'voc', '--data-root', str(voc), '--labeled', str(tmp_path / 'l.txt'),
        '--unlabeled', str(tmp_path / 'u.txt'), '--out-dir', str(tmp_path / 'out')])
    err = capsys.readouterr().err
    assert '1 image(s) listed more than once, e.g. 2007_000032 (in labeled and unlabeled)' in err
    assert read_lines(tmp_path / 'out' / 'unlabeled.txt') == ['2007_000033', '2007_000032']
