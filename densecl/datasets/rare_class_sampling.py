"""Rare-class sampling (RCS) of a labelled source dataset, as in DAFormer
(Hoyer et al., CVPR 2022) and SePiCo's release, which reuses it.

Class ``c`` is drawn with probability ``p_c = softmax((1 - f_c) / T)``,
``f_c`` being its share of all labelled pixels of the source set; then an
image holding more than ``min_pixels`` pixels of ``c``, uniformly; then its
random crop is redrawn (at most ``max_crop_tries`` times) until it holds
more than ``min_pixels * min_crop_ratio`` pixels of ``c``.
"""
import json
import logging
import os.path as osp

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmseg.registry import DATASETS

from .seeding import SeededSamplesMixin, derive_seed, seeded_rngs


def _stats_entries(sample_class_stats):
    """``(file, {class: pixels})`` pairs of a loaded stats file.

    Takes DAFormer's ``sample_class_stats.json`` (a list of dicts with a
    ``'file'`` key and string class keys) or its ``sample_class_stats_dict.json``
    (``{file: {class: pixels}}``).
    """
    if isinstance(sample_class_stats, dict):
        items = sample_class_stats.items()
    else:
        items = ((s['file'], {k: v for k, v in s.items() if k != 'file'})
                 for s in sample_class_stats)
    return [(file, {int(c): int(n) for c, n in counts.items()}) for file, counts in items]


def class_pixel_totals(sample_class_stats):
    """Pixels of each class summed over all images, ``{class: pixels}`` sorted by class."""
    totals = {}
    for _, counts in _stats_entries(sample_class_stats):
        for c, n in counts.items():
            totals[c] = totals.get(c, 0) + n
    return dict(sorted(totals.items()))


def class_frequencies(sample_class_stats):
    """Each present class's share ``f_c`` of the labelled pixels, ``{class: f_c}``."""
    totals = class_pixel_totals(sample_class_stats)
    total = sum(totals.values())
    if total == 0:
        raise ValueError('the class statistics hold no labelled pixel')
    return {c: n / total for c, n in totals.items()}


def rcs_class_probabilities(frequencies, temperature=0.01):
    """RCS probabilities ``p_c ∝ exp((1 - f_c) / T)`` of the classes in ``frequencies``.

    Returns the classes (sorted) and their probabilities (float64, summing
    to 1). Classes absent from ``frequencies`` are never drawn. A smaller
    ``temperature`` favours rare classes more; DAFormer uses 0.01.
    """
    if temperature <= 0:
        raise ValueError(f'temperature must be positive, got {temperature}')
    classes = sorted(frequencies)
    logits = (1 - np.array([frequencies[c] for c in classes], dtype=np.float64)) / temperature
    probs = np.exp(logits - logits.max())
    return classes, probs / probs.sum()


@DATASETS.register_module()
class RareClassSampledDataset(SeededSamplesMixin, BaseDataset):
    """A labelled dataset whose items are drawn by rare-class sampling.

    Design: a dataset wrapper (not a sampler) so that it plugs in as the
    ``source`` of :class:`DomainAdaptationDataset`, whose
    :class:`SemiSupervisedSampler` indexes the concatenated datasets. Item
    ``i`` ignores which image ``i`` is: it draws a class, then an image
    holding it, with a generator seeded by ``(seed, i, k)``, where ``k`` is
    one draw of numpy's global generator. The sampler hands every draw its
    own seed and :class:`SeededSamplesMixin` seeds the global generators with
    it, so the draws are fresh at every visit of ``i`` (as DAFormer's, which
    ignore the index) yet repeat exactly in a rerun or a resumed run. Keying
    by ``i`` alone would replay the same draws at every pass over the
    indices. The re-crops run the wrapped pipeline again under the same
    global generators. The length, metainfo and ``get_data_info`` are those
    of the wrapped dataset.

    The class statistics are DAFormer's ``sample_class_stats.json``, written
    by ``tools/convert_datasets.py gta5|synthia ROOT``; its images are
    matched to the dataset by label file name, and the frequencies are
    computed over the matched images (all of them unless the dataset is a
    subset). Every class present needs an image with more than
    ``min_pixels`` of it, else this raises (DAFormer asserts).

    Args:
        dataset (dict | BaseDataset): the labelled dataset; its pipeline
            must load the labels (``LoadAnnotations``) for the re-crops.
        stats_file (str): the statistics; relative paths are relative to
            the dataset's ``data_root``. Defaults to 'sample_class_stats.json'.
        class_temp (float): the temperature T. Defaults to 0.01.
        min_pixels (int): an image is drawn for class c only if it holds
            more pixels of c. Defaults to 3000.
        min_crop_ratio (float): re-crop until the crop holds more than
            ``min_pixels * min_crop_ratio`` pixels of c; 0 disables it.
            Defaults to 0.5.
        max_crop_tries (int): re-crops at most. Defaults to 10.
        seed (int): seed of the draws. Defaults to 0.
        lazy_init (bool): defer loading the statistics. Defaults to False.
    """

    def __init__(self,
                 dataset,
                 stats_file='sample_class_stats.json',
                 class_temp=0.01,
                 min_pixels=3000,
                 min_crop_ratio=0.5,
                 max_crop_tries=10,
                 seed=0,
                 lazy_init=False):
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.stats_file = stats_file
        self.class_temp = class_temp
        self.min_pixels = min_pixels
        self.min_crop_ratio = min_crop_ratio
        self.max_crop_tries = max_crop_tries
        self.seed = seed
        self._metainfo = self.dataset.metainfo
        self.data_root = getattr(self.dataset, 'data_root', None)
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    def _stats_path(self):
        if osp.isabs(self.stats_file) or not self.data_root:
            return self.stats_file
        return osp.join(self.data_root, self.stats_file)

    def full_init(self):
        """Load the statistics and index the images holding each class."""
        if self._fully_initialized:
            return
        self.dataset.full_init()
        path = self._stats_path()
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'RareClassSampledDataset: class statistics {path} do not exist; write them '
                'with: python tools/convert_datasets.py gta5|synthia '
                f'{self.data_root or "ROOT"}')
        with open(path) as f:
            entries = _stats_entries(json.load(f))
        index = {}
        for i in range(len(self.dataset)):
            index[osp.basename(self.dataset.get_data_info(i)['seg_map_path'])] = i
        matched = [(index[osp.basename(file)], counts) for file, counts in entries
                   if osp.basename(file) in index]
        if not matched:
            raise ValueError(
                f'RareClassSampledDataset: none of the {len(entries)} files of {path} is a '
                f'label of the {len(self.dataset)} images of {type(self.dataset).__name__} '
                '(matched by file name); were the statistics written for another dataset?')
        frequencies = class_frequencies({i: counts for i, counts in matched})
        self.classes, self.class_probs = rcs_class_probabilities(frequencies, self.class_temp)
        self.images_with_class = {
            c: np.array(sorted(i for i, counts in matched if counts.get(c, 0) > self.min_pixels),
                        dtype=np.int64)
            for c in self.classes
        }
        empty = [c for c in self.classes if not len(self.images_with_class[c])]
        if empty:
            raise ValueError(
                f'RareClassSampledDataset: classes {empty} occur in {path} but no image holds '
                f'more than min_pixels={self.min_pixels} pixels of them; lower min_pixels')
        print_log(
            'RareClassSampledDataset: class probabilities ' + ', '.join(
                f'{c}: {p:.4f}' for c, p in zip(self.classes, self.class_probs)),
            logger='current', level=logging.INFO)
        self._fully_initialized = True

    @property
    def metainfo(self):
        return self.dataset.metainfo

    def __len__(self):
        return len(self.dataset)

    def get_data_info(self, idx):
        return self.dataset.get_data_info(idx)

    def draw(self, idx):
        """The class and dataset index drawn for item ``idx`` (consumes one global draw)."""
        self.full_init()
        if not 0 <= idx < len(self):
            raise IndexError(f'index {idx} out of range for {len(self)} items')
        key = int(np.random.randint(0, 2**31 - 1))
        rng = np.random.default_rng(derive_seed(self.seed, idx, key))
        c = self.classes[rng.choice(len(self.classes), p=self.class_probs)]
        return c, int(rng.choice(self.images_with_class[c]))

    @staticmethod
    def _class_pixels(sample, c):
        data_samples = sample.get('data_samples') if isinstance(sample, dict) else None
        if data_samples is not None and 'gt_sem_seg' in data_samples:
            seg = data_samples.gt_sem_seg.data
        elif isinstance(sample, dict) and 'gt_seg_map' in sample:
            seg = sample['gt_seg_map']
        else:
            raise KeyError('RareClassSampledDataset: the pipeline output holds no label '
                           '(gt_sem_seg / gt_seg_map); add LoadAnnotations, or set '
                           'min_crop_ratio=0')
        return int((seg == c).sum())

    def __getitem__(self, idx):
        if isinstance(idx, tuple):  # (index, seed) from SeededInfiniteSampler, used directly
            idx, seed = idx
            with seeded_rngs(seed):
                return self[idx]
        c, index = self.draw(idx)
        sample = self.dataset[index]
        if self.min_crop_ratio > 0:
            for _ in range(self.max_crop_tries):
                if self._class_pixels(sample, c) > self.min_pixels * self.min_crop_ratio:
                    break
                sample = self.dataset[index]  # the pipeline draws a new crop
        return sample
