"""Strong views, the semi-supervised dataset and sampler, the data preprocessor, bad splits."""
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS, TRANSFORMS

from densecl.datasets import SemiSegDataset, SemiSupervisedSampler
from densecl.datasets.seeding import seeded_rngs
from densecl.datasets.synthetic import CLASSES, PALETTE


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def toy(root, split, **kwargs):
    return dict(type='ToyScenesDataset', data_root=root, pipeline=[],
                data_prefix=dict(img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'),
                **kwargs)


def test_weak_and_strong_views_share_geometry():
    """Each strong view is constant on every label region of the weak view's label map."""
    rng = np.random.default_rng(0)
    label = rng.integers(0, 4, (6, 6)).repeat(4, 0).repeat(4, 1).astype(np.uint8)
    image = np.stack([label * 40 + 30, label * 20 + 60, 200 - label * 30], -1).astype(np.uint8)
    pipeline = [TRANSFORMS.build(t) for t in (
        dict(type='RandomCrop', crop_size=(16, 16)),
        dict(type='RandomFlip', prob=1.0),
        dict(type='StrongViews', num_views=2, blur_prob=0.0,
             color_jitter=dict(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.25, p=1.0)),
        dict(type='PackSemiInputs'))]
    results = dict(img=image, gt_seg_map=label, seg_fields=['gt_seg_map'], img_shape=(24, 24))
    with seeded_rngs(3):
        for transform in pipeline:
            results = transform(results)
    views, labels = results['inputs'], results['data_samples'].gt_sem_seg.data[0]
    assert views.shape == (3, 3, 16, 16)
    for c in labels.unique():
        region = labels == c
        weak = views[0][:, region]
        assert (weak == weak[:, :1]).all()  # the weak view is the labels' geometry
        for strong in views[1:]:
            pixels = strong[:, region]
            assert (pixels == pixels[:, :1]).all()
    assert not torch.equal(views[1], views[0]) and not torch.equal(views[2], views[1])
    assert results['data_samples'].cutmix_box.data.shape == (2, 16, 16)


def test_overlapping_unlabelled_split_warns_with_the_count(toyscenes_root, toyscenes_counts):
    with pytest.warns(UserWarning, match=r'3 of the \d+ unlabelled images are also labelled'):
        dataset = SemiSegDataset(labeled=toy(toyscenes_root, 'train',
                                             ann_file='splits/train_1-2.txt'),
                                 unlabeled=toy(toyscenes_root, 'train'))
    assert dataset.num_labeled == 3 and dataset.num_unlabeled == toyscenes_counts['train']


def test_empty_unlabelled_split_warns_and_batches_are_labelled(toyscenes_root, tmp_path):
    empty = tmp_path / 'empty.txt'
    empty.write_text('')
    unlabeled = dict(type='BaseSegDataset', data_root=toyscenes_root, ann_file=str(empty),
                     img_suffix='.png', seg_map_suffix='.png', pipeline=[], serialize_data=False,
                     metainfo=dict(classes=CLASSES, palette=PALETTE),
                     data_prefix=dict(img_path='img_dir/unlabeled', seg_map_path=''))
    with pytest.warns(UserWarning, match=r'unlabelled split is empty \(0 images, 3 labelled\)'):
        dataset = SemiSegDataset(labeled=toy(toyscenes_root, 'train',
                                             ann_file='splits/train_1-2.txt'),
                                 unlabeled=unlabeled)
    stream = iter(SemiSupervisedSampler(dataset, batch_size=4, num_labeled=1, seed=0))
    assert all(next(stream)[0] < 3 for _ in range(8))


def test_split_naming_missing_images_errors_with_the_first(toyscenes_root, tmp_path):
    split = tmp_path / 'split.txt'
    split.write_text('train_00000\nnot_there_7\nnot_there_8\n')
    with pytest.raises(FileNotFoundError, match=r'names 2 image\(s\).*first \S*not_there_7\.png'):
        DATASETS.build(toy(toyscenes_root, 'train', ann_file=str(split)))


def test_sampler_mixes_at_the_ratio_and_splits_ranks(toyscenes_root):
    dataset = SemiSegDataset(labeled=toy(toyscenes_root, 'train', ann_file='splits/train_1-2.txt'),
                             unlabeled=toy(toyscenes_root, 'unlabeled'))
    ranks = []
    for rank in (0, 1):
        sampler = SemiSupervisedSampler(dataset, batch_size=4, num_labeled=3, seed=5)
        sampler.rank, sampler.world_size = rank, 2
        stream = iter(sampler)
        ranks.append([next(stream) for _ in range(12)])
    for draws in ranks:
        for batch in range(3):
            indices = [index for index, _ in draws[4 * batch:4 * batch + 4]]
            assert all(i < 3 for i in indices[:3]) and indices[3] >= 3
    seeds = [seed for draws in ranks for _, seed in draws]
    assert len(set(seeds)) == len(seeds)  # every draw of both ranks is its own
    with pytest.raises(ValueError, match='num_labeled must be in'):
        SemiSupervisedSampler(dataset, batch_size=4, num_labeled=5)


def test_data_preprocessor_batches_views_and_marks_padding():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    preprocessor = MODELS.build(dict(type='SemiDataPreProcessor', mean=[0, 0, 0], std=[1, 1, 1],
                                     size=(8, 8)))
    labeled = SegDataSample(gt_sem_seg=PixelData(data=torch.zeros(1, 8, 8, dtype=torch.long)))
    unlabeled = SegDataSample(cutmix_box=PixelData(data=torch.ones(2, 6, 5, dtype=torch.bool)))
    unlabeled.set_metainfo(dict(img_shape=(6, 5)))
    views = torch.stack([torch.full((3, 6, 5), float(v)) for v in range(3)])
    batch = preprocessor(dict(inputs=[torch.ones(3, 8, 8), views],
                              data_samples=[labeled, unlabeled]), training=True)
    assert batch['inputs'].shape == (1, 3, 8, 8)
    extra = batch['unlabeled']
    assert extra['weak'].shape == (1, 3, 8, 8) and len(extra['strong']) == 2
    strong_label = extra['strong'][1][0]
    assert (strong_label[:, :6, :5] == 2).all() and (strong_label[:, 6:] == 0).all()
    assert extra['valid'][0].sum() == 30 and extra['valid'][0, :6, :5].all()
    assert torch.equal(extra['cutmix_box'][0][0], extra['valid'][0])
