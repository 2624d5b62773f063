"""ImageNet-1k's train images for self-supervised pretraining, from its folders or a list."""
import os
import os.path as osp
import posixpath

from mmseg.registry import DATASETS

from .unlabeled_folder import UnlabeledImageFolder


@DATASETS.register_module()
class ImageNetList(UnlabeledImageFolder):
    """The images of the official ImageNet train layout, ``train/<wnid>/<wnid>_<n>.JPEG``.

    Without ``ann_file`` every image under ``data_root/data_prefix['img_path']`` is
    taken, as :class:`UnlabeledImageFolder` does (sorted). With ``ann_file``, a list
    as mmpretrain's ``meta/train.txt`` (lines ``n01440764/n01440764_10026.JPEG 0``,
    paths relative to the image folder) gives the images in its order; the class
    index is ignored, pretraining is self-supervised. Samples are the same
    ``dict(img_path=...)`` either way, so the two-view pipelines run unchanged.

    Listed files are checked to exist when the dataset is built, by reading each
    listed folder once (1,000 listings for ImageNet, rather than 1.28M ``stat``
    calls), so a list of another copy fails at once instead of mid-training;
    ``check_files=False`` skips it (the loader then fails on a missing file).

    Args:
        ann_file (str): the list file, relative to ``data_root``; '' walks the folder.
        check_files (bool): check that listed images exist. Defaults to True.
    """

    def __init__(self, ann_file='', data_prefix=dict(img_path='train'), check_files=True,
                 **kwargs):
        self.check_files = check_files
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, **kwargs)

    def load_data_list(self):
        if not self.ann_file:
            return super().load_data_list()
        img_dir = self.data_prefix['img_path']
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'image list {self.ann_file} does not exist')
        if not osp.isdir(img_dir):
            raise FileNotFoundError(f'image folder {img_dir} does not exist')
        with open(self.ann_file) as f:
            entries = [(number, self._parse(number, line))
                       for number, line in enumerate(f, start=1) if line.strip()]
        if not entries:
            raise FileNotFoundError(f'image list {self.ann_file} lists no images')
        if self.check_files:
            self._check_listed(img_dir, entries)
        return [dict(img_path=osp.join(img_dir, path)) for _, path in entries]

    def _parse(self, number, line):
        """The image path of list line ``number``; ValueError naming it when malformed."""
        fields = line.split()
        where = f'{self.ann_file} line {number} ({line.strip()!r})'
        if len(fields) > 2:
            raise ValueError(f'{where}: expected "<image path> [<class index>]"')
        if len(fields) == 2 and not fields[1].lstrip('-').isdigit():
            raise ValueError(f'{where}: the class index {fields[1]!r} is not an integer')
        path = posixpath.normpath(fields[0])
        if path.startswith(('/', '../')) or path == '..':
            raise ValueError(f'{where}: the path must be relative to the image folder')
        if not path.lower().endswith(self.img_suffix):
            raise ValueError(f'{where}: the image does not end in '
                             f'{", ".join(self.img_suffix)}')
        return path

    def _check_listed(self, img_dir, entries):
        """ValueError naming the first listed image missing under ``img_dir``."""
        listings = {}
        missing = []
        for number, path in entries:
            folder, name = posixpath.split(path)
            if folder not in listings:
                full = osp.join(img_dir, folder)
                listings[folder] = set(os.listdir(full)) if osp.isdir(full) else set()
            if name not in listings[folder]:
                missing.append((number, path))
        if missing:
            number, path = missing[0]
            raise ValueError(f'{self.ann_file} line {number}: {osp.join(img_dir, path)} does '
                             f'not exist ({len(missing)} of {len(entries)} listed images are '
                             f'missing)')
