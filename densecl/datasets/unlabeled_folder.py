"""A folder of unlabelled images, the data of self-supervised pretraining."""
import os.path as osp

from mmengine.dataset import BaseDataset
from mmengine.fileio import list_dir_or_file
from mmseg.registry import DATASETS

from .seeding import SeededSamplesMixin

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


@DATASETS.register_module()
class UnlabeledImageFolder(SeededSamplesMixin, BaseDataset):
    """Every image under ``data_root/data_prefix['img_path']`` (recursively, sorted).

    Users pretrain on their own images by pointing ``data_root`` at a folder;
    no annotation file is needed. A missing folder, or one without images
    of ``img_suffix``, raises a FileNotFoundError naming the folder. With
    :class:`~densecl.datasets.SeededInfiniteSampler` the augmentation of each
    draw is seeded, so a resumed pretraining run repeats the views.

    Args:
        img_suffix (str | tuple[str]): file endings counted as images
            (case-insensitive).
    """

    def __init__(self, img_suffix=IMAGE_SUFFIXES, data_prefix=dict(img_path=''), **kwargs):
        suffixes = (img_suffix, ) if isinstance(img_suffix, str) else tuple(img_suffix)
        self.img_suffix = tuple(s.lower() for s in suffixes)
        super().__init__(data_prefix=data_prefix, **kwargs)

    def load_data_list(self):
        img_dir = self.data_prefix['img_path']
        if not osp.isdir(img_dir):
            raise FileNotFoundError(f'unlabelled image folder {img_dir} does not exist')
        names = sorted(
            name for name in list_dir_or_file(img_dir, list_dir=False, recursive=True)
            if name.lower().endswith(self.img_suffix))
        if not names:
            raise FileNotFoundError(
                f'unlabelled image folder {img_dir} holds no images ending in '
                f'{", ".join(self.img_suffix)}')
        return [dict(img_path=osp.join(img_dir, name)) for name in names]
