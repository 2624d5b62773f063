"""mmseg dataset classes for toyscenes, densecl's procedural benchmark."""
import os.path as osp

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .seeding import SeededSamplesMixin
from .synthetic import CLASSES, PALETTE


@DATASETS.register_module()
class ToyScenesDataset(SeededSamplesMixin, BaseSegDataset):
    """toyscenes dataset, written by ``tools/make_synthetic.py``.

    Class 0 is the ground (background), 1 the sky and 2-7 the object classes,
    each a shape with its own texture; 255 is ignored. The ``img_suffix`` and
    ``seg_map_suffix`` are fixed to '.png' and ``reduce_zero_label`` to False,
    since the background is a real class here. Missing or empty folders
    raise a FileNotFoundError that names the folder and the command creating
    it. With :class:`SeededInfiniteSampler` each sample is transformed under
    generators seeded from its draw, so resumed runs repeat the augmentation.
    """
    METAINFO = dict(classes=CLASSES, palette=PALETTE)

    def __init__(self, **kwargs) -> None:
        super().__init__(
            img_suffix='.png',
            seg_map_suffix='.png',
            reduce_zero_label=False,
            **kwargs)

    def load_data_list(self):
        img_dir = self.data_prefix.get('img_path', '')
        for path, isdir in ((img_dir, True), (self.ann_file, False)):
            if path and not (osp.isdir(path) if isdir else osp.isfile(path)):
                root = self.data_root or osp.dirname(osp.dirname(img_dir))
                raise FileNotFoundError(
                    f'toyscenes: {path} does not exist; create the benchmark '
                    f'with: python tools/make_synthetic.py --out {root}')
        data_list = super().load_data_list()
        if not data_list:
            listed = f' listed in {self.ann_file}' if self.ann_file else ''
            raise FileNotFoundError(
                f'toyscenes: no images{listed} in {img_dir}; regenerate the '
                'split with a non-zero count (tools/make_synthetic.py '
                '--num-<split> N)')
        if self.ann_file:
            missing = [info['img_path'] for info in data_list if not osp.isfile(info['img_path'])]
            if missing:
                raise FileNotFoundError(
                    f'toyscenes: {self.ann_file} names {len(missing)} image(s) that do not '
                    f'exist, first {missing[0]}; is the split file from another data_root?')
        return data_list


@DATASETS.register_module()
class ToyScenesOoDDataset(ToyScenesDataset):
    """toyscenes ``ood_val`` split with its pixel-wise anomaly masks.

    Anomaly pixels are labelled 255 in the semantic map and 1 in the mask at
    ``data_info['anomaly_path']`` (0 elsewhere), for OoD metrics.
    """

    def __init__(self,
                 data_prefix=dict(
                     img_path='img_dir/ood_val',
                     seg_map_path='ann_dir/ood_val',
                     anomaly_path='anomaly_dir/ood_val'),
                 **kwargs) -> None:
        super().__init__(data_prefix=data_prefix, **kwargs)

    def load_data_list(self):
        data_list = super().load_data_list()
        img_dir = self.data_prefix['img_path']
        anomaly_dir = self.data_prefix['anomaly_path']
        for info in data_list:
            name = osp.relpath(info['img_path'], img_dir)
            info['anomaly_path'] = osp.join(anomaly_dir, name)
        return data_list
