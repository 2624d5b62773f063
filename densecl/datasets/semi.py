"""Labelled and unlabelled images in one training stream, for semi-supervised segmentation."""
import os.path as osp
import warnings

import torch
from mmengine.dataset import ConcatDataset
from mmengine.dist import get_dist_info, sync_random_seed
from mmseg.registry import DATA_SAMPLERS, DATASETS
from torch.utils.data import Sampler

from .seeding import SeededSamplesMixin, derive_seed


@DATASETS.register_module()
class SemiSegDataset(SeededSamplesMixin, ConcatDataset):
    """A labelled dataset followed by an unlabelled one, each with its own pipeline.

    Indices below ``num_labeled`` are labelled samples; the rest are
    unlabelled ones, whose pipeline ends in :class:`StrongViews` and
    :class:`PackSemiInputs`. :class:`SemiSupervisedSampler` mixes them at a
    fixed ratio per batch. Warns when the unlabelled split is empty (batches
    are then labelled only) or shares images with the labelled split.

    Args:
        labeled (dict): config of the labelled dataset (e.g. a split file of train).
        unlabeled (dict): config of the unlabelled dataset; its labels are never loaded.
    """

    def __init__(self, labeled, unlabeled, **kwargs):
        super().__init__(datasets=[labeled, unlabeled], **kwargs)
        labeled_set, unlabeled_set = self.datasets
        self.num_labeled = len(labeled_set)
        self.num_unlabeled = len(unlabeled_set)
        if self.num_unlabeled == 0:
            warnings.warn(f'SemiSegDataset: the unlabelled split is empty (0 images, '
                          f'{self.num_labeled} labelled): batches hold labelled images only')
            return
        labeled_paths = {osp.realpath(labeled_set.get_data_info(i)['img_path'])
                         for i in range(self.num_labeled)}
        unlabeled_paths = [unlabeled_set.get_data_info(i)['img_path']
                           for i in range(self.num_unlabeled)]
        shared = [path for path in unlabeled_paths if osp.realpath(path) in labeled_paths]
        if shared:
            warnings.warn(f'SemiSegDataset: {len(shared)} of the {self.num_unlabeled} '
                          f'unlabelled images are also labelled (first: {shared[0]}); they '
                          'are used both ways')


@DATA_SAMPLERS.register_module()
class SemiSupervisedSampler(Sampler):
    """Infinite stream of :class:`SemiSegDataset` items, ``num_labeled`` labelled per batch.

    Every ``batch_size`` consecutive items (set it to the dataloader's
    ``batch_size``) are ``num_labeled`` labelled then ``batch_size -
    num_labeled`` unlabelled samples, each part drawn from its own shuffled
    infinite stream split between ranks (rank r takes positions r, r + world,
    ...), so under DDP every rank gets the same ratio and disjoint draws.
    Items are ``(index, seed)`` as in :class:`SeededInfiniteSampler`: each
    sample's augmentation depends only on its draw, so resumed runs repeat it.

    Args:
        dataset (SemiSegDataset): the dataset.
        batch_size (int): samples per batch and process.
        num_labeled (int): labelled samples per batch, in [1, batch_size].
        shuffle (bool): shuffle each part.
        seed (int, optional): random seed; synchronised across ranks when None.
    """

    def __init__(self, dataset, batch_size, num_labeled, shuffle=True, seed=None):
        if not isinstance(dataset, SemiSegDataset):
            raise TypeError('SemiSupervisedSampler needs a SemiSegDataset, got '
                            f'{type(dataset).__name__}')
        if not 1 <= num_labeled <= batch_size:
            raise ValueError(f'num_labeled must be in [1, batch_size={batch_size}], '
                             f'got {num_labeled}')
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_labeled = num_labeled if dataset.num_unlabeled else batch_size
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.rank, self.world_size = get_dist_info()

    def _stream(self, part, offset, size):
        """This rank's ``(index, seed)`` draws of one part, forever."""
        generator = torch.Generator().manual_seed(derive_seed(self.seed, part))
        position = 0
        while True:
            order = (torch.randperm(size, generator=generator) if self.shuffle
                     else torch.arange(size))
            for index in order.tolist():
                if position % self.world_size == self.rank:
                    yield offset + index, derive_seed(self.seed, part, position)
                position += 1

    def __iter__(self):
        labeled = self._stream(0, 0, self.dataset.num_labeled)
        unlabeled = self._stream(1, self.dataset.num_labeled, self.dataset.num_unlabeled)
        while True:
            for _ in range(self.num_labeled):
                yield next(labeled)
            for _ in range(self.batch_size - self.num_labeled):
                yield next(unlabeled)

    def __len__(self):
        return len(self.dataset)

    def set_epoch(self, epoch):
        """Unused: the stream is infinite (kept for mmengine's DistSamplerSeedHook)."""
