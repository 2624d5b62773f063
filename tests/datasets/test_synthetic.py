import hashlib
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from densecl.datasets import synthetic
from densecl.datasets.synthetic import (ANOMALY_KINDS, CLASS_TEXTURES, CLASSES,
                                        OUTLIER_KINDS, generate)

COUNTS = dict(
    train=8,
    val=2,
    unlabeled=2,
    target_train=3,
    target_val=2,
    ood_val=4,
    outliers=6)
SIZE = 64
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def digests(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path,
                                root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def read(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('toyscenes')
    generate(str(root), seed=0, size=SIZE, counts=COUNTS)
    return root


def test_same_seed_same_bytes(data, tmp_path):
    generate(str(tmp_path), seed=0, size=SIZE, counts=COUNTS)
    assert digests(tmp_path) == digests(data)


def test_different_seed_differs(data, tmp_path):
    generate(str(tmp_path), seed=1, size=SIZE, counts=COUNTS)
    a, b = digests(data), digests(tmp_path)
    assert a.keys() == b.keys()
    images = [k for k in a if k.startswith('img_dir')]
    assert all(a[k] != b[k] for k in images)


def test_split_independent_of_other_counts(data, tmp_path):
    generate(
        str(tmp_path),
        seed=0,
        size=SIZE,
        counts=dict(COUNTS, val=0, unlabeled=5, train=3))
    a, b = digests(data), digests(tmp_path)
    for i in range(3):
        key = osp.join('img_dir', 'train', f'train_{i:05d}.png')
        assert a[key] == b[key]


def test_rerun_replaces_stale_files(tmp_path):
    none = dict.fromkeys(COUNTS, 0)
    generate(str(tmp_path), seed=0, size=SIZE, counts=dict(none, train=3))
    generate(str(tmp_path), seed=0, size=SIZE, counts=dict(none, train=2))
    assert len(os.listdir(tmp_path / 'img_dir' / 'train')) == 2


def test_layout_and_counts(data):
    meta = json.loads((data / 'meta.json').read_text())
    assert meta['seed'] == 0 and meta['size'] == SIZE
    assert meta['counts'] == COUNTS
    assert meta['classes'] == list(CLASSES) and len(CLASSES) >= 8
    for split in synthetic.SPLITS:
        imgs = sorted(os.listdir(data / 'img_dir' / split))
        anns = sorted(os.listdir(data / 'ann_dir' / split))
        assert imgs == anns
        assert len(imgs) == COUNTS[split]
        img, ann = read(data / 'img_dir' / split / imgs[0]), read(
            data / 'ann_dir' / split / imgs[0])
        assert img.shape == (SIZE, SIZE, 3) and img.dtype == np.uint8
        assert ann.shape == (SIZE, SIZE) and ann.dtype == np.uint8
    assert sorted(os.listdir(data / 'anomaly_dir' / 'ood_val')) == sorted(
        os.listdir(data / 'img_dir' / 'ood_val'))
    for sub in ('img', 'mask'):
        assert len(os.listdir(data / 'outliers' / sub)) == COUNTS['outliers']


def test_labels_in_class_set(data):
    for split in synthetic.SPLITS:
        allowed = set(range(len(CLASSES)))
        if split == 'ood_val':
            allowed.add(255)
        for name in os.listdir(data / 'ann_dir' / split):
            assert set(np.unique(read(data / 'ann_dir' / split / name))) <= \
                allowed


def test_anomaly_mask_matches_ignore(data):
    for name in os.listdir(data / 'anomaly_dir' / 'ood_val'):
        mask = read(data / 'anomaly_dir' / 'ood_val' / name)
        ann = read(data / 'ann_dir' / 'ood_val' / name)
        assert set(np.unique(mask)) == {0, 1}
        np.testing.assert_array_equal(mask == 1, ann == 255)


def test_every_class_appears(data):
    seen = set()
    for name in os.listdir(data / 'ann_dir' / 'train'):
        seen |= set(np.unique(read(data / 'ann_dir' / 'train' / name)))
    assert seen == set(range(len(CLASSES)))


def test_nested_fraction_splits(data):
    train = {n[:-4] for n in os.listdir(data / 'img_dir' / 'train')}
    subsets = {}
    for k in synthetic.FRACTIONS:
        lines = (data / 'splits' / f'train_1-{k}.txt').read_text().split()
        assert len(lines) == -(-len(train) // k)
        subsets[k] = set(lines)
    assert (subsets[64] <= subsets[32] <= subsets[16] <= subsets[8] <= subsets[4] <= subsets[2]
            <= train)


def test_outliers_disjoint_from_anomalies():
    in_dist = set(CLASS_TEXTURES) | set(CLASS_TEXTURES.values())
    anomaly = {x for kind in ANOMALY_KINDS for x in kind}
    outlier = {x for kind in OUTLIER_KINDS for x in kind}
    assert not anomaly & outlier
    assert not anomaly & in_dist and not outlier & in_dist


def test_outlier_crops(data):
    for name in os.listdir(data / 'outliers' / 'img'):
        crop = read(data / 'outliers' / 'img' / name)
        mask = read(data / 'outliers' / 'mask' / name)
        assert crop.shape[:2] == mask.shape
        assert set(np.unique(mask)) == {0, 1}
        assert not crop[mask == 0].any()


def test_styles_differ():
    """Target style: less saturated, lower contrast, warmer (R - B) tint."""

    def stats(split):
        imgs = [synthetic.render_scene(0, split, i, SIZE)[0] for i in range(6)]
        sat = np.mean([
            cv2.cvtColor(im, cv2.COLOR_RGB2HSV)[..., 1].mean() for im in imgs
        ])
        contrast = np.mean([im.std((0, 1)).mean() for im in imgs])
        warmth = np.mean(
            [im[..., 0].mean() - im[..., 2].mean() for im in imgs])
        return sat, contrast, warmth

    src, tgt = stats('train'), stats('target_train')
    assert tgt[0] < 0.85 * src[0]
    assert tgt[1] < 0.6 * src[1]
    assert tgt[2] > src[2] + 20


def test_invalid_counts(tmp_path):
    with pytest.raises(ValueError, match='unknown toyscenes splits'):
        generate(str(tmp_path), counts=dict(tain=3))


def test_cli_and_contact_sheets(tmp_path):
    out, docs = tmp_path / 'data', tmp_path / 'docs'
    counts = [
        f'--num-{s.replace("_", "-")}=1' for s in synthetic.DEFAULT_COUNTS
    ]
    subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'make_synthetic.py'), '--out',
            str(out), '--seed', '3', '--size', '48', '--contact-sheets',
            str(docs)
        ] + counts,
        check=True,
        cwd=REPO)
    assert json.loads((out / 'meta.json').read_text())['seed'] == 3
    for split in synthetic.SPLITS:
        sheet = read(docs / f'toyscenes_{split}.png')
        assert sheet.ndim == 3 and sheet.shape[1] >= 2 * 48
    assert (docs / 'toyscenes_outliers.png').exists()


@pytest.fixture
def existing(data, tmp_path):
    """A copy of a complete dataset, and its digests."""
    root = tmp_path / 'existing'
    shutil.copytree(data, root)
    return root, digests(root)


@pytest.mark.parametrize('kwargs, match', [
    (dict(seed=-1), 'seed'),
    (dict(counts=dict(COUNTS, train=0)), '--num-train'),
    (dict(counts=dict(COUNTS, train=-3)), '--num-train'),
    (dict(counts=dict(COUNTS, ood_val=-1)), '--num-ood-val'),
    (dict(size=16), 'size'),
    (dict(size=100000), 'size must be between 32 and 2048, got 100000: .* bytes a pixel'),
    (dict(counts=dict(COUNTS, val=100000)), r'--num-val\) must be between 0 and 99999'),
])
def test_invalid_argument_leaves_existing_dataset_untouched(
        existing, kwargs, match):
    root, before = existing
    kwargs = {'seed': 0, 'size': SIZE, 'counts': COUNTS, **kwargs}
    with pytest.raises(ValueError, match=match):
        generate(str(root), **kwargs)
    assert digests(root) == before


def test_cli_negative_seed_over_dataset_fails_and_keeps_it(existing):
    root, before = existing
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'make_synthetic.py'),
         '--out', str(root), '--seed', '-1'],
        capture_output=True, text=True, cwd=REPO)
    assert result.returncode != 0
    assert 'seed' in result.stderr
    assert digests(root) == before


def test_cli_bounds_the_image_size_with_its_reason(tmp_path):
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'make_synthetic.py'),
         '--out', str(tmp_path / 'big'), '--size', '100000'],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 2  # argparse's usage error, not a MemoryError
    assert 'error: size must be between 32 and 2048, got 100000' in result.stderr
    assert 'GiB' in result.stderr
    assert os.listdir(tmp_path) == []


def test_failure_midway_keeps_old_dataset_and_no_temporary(
        existing, monkeypatch):
    root, before = existing

    def broken(*args):
        raise RuntimeError('disk full')

    monkeypatch.setattr(synthetic, 'render_outlier', broken)
    with pytest.raises(RuntimeError, match='disk full'):
        generate(str(root), seed=1, size=SIZE, counts=COUNTS)
    assert digests(root) == before
    assert sorted(os.listdir(root.parent)) == ['existing']


def test_foreign_folder_is_refused_unless_forced(tmp_path):
    (tmp_path / 'notes.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='--force'):
        generate(str(tmp_path), seed=0, size=SIZE, counts=COUNTS)
    assert os.listdir(tmp_path) == ['notes.txt']
    generate(str(tmp_path), seed=0, size=SIZE, counts=COUNTS, force=True)
    assert (tmp_path / 'notes.txt').read_text() == 'mine'
    assert json.loads((tmp_path / 'meta.json').read_text())['seed'] == 0


def test_rerun_keeps_files_it_did_not_write(existing):
    root, _ = existing
    (root / 'README.txt').write_text('notes')
    generate(str(root), seed=1, size=SIZE, counts=COUNTS)
    assert (root / 'README.txt').read_text() == 'notes'
    assert json.loads((root / 'meta.json').read_text())['seed'] == 1
