"""GTA5 and SYNTHIA-RAND-CITYSCAPES, the synthetic source datasets of
GTA5 -> Cityscapes and SYNTHIA -> Cityscapes domain adaptation.

Both are labelled with the 19 Cityscapes classes (SYNTHIA has no terrain,
truck or train pixels; its benchmark reports the mIoU over 16 and 13
classes, see :mod:`densecl.evaluation.subset_iou_metric`), once their
official labels are converted to train ids by ``tools/convert_datasets.py``.
"""
import os.path as osp

from mmseg.datasets import BaseSegDataset, CityscapesDataset
from mmseg.registry import DATASETS

from .seeding import SeededSamplesMixin


class _ConvertedSourceDataset(SeededSamplesMixin, BaseSegDataset):
    """A folder of ``X.png`` images with converted ``X_labelTrainIds.png`` labels.

    Missing image or label folders, no images, or images without a
    converted label raise a FileNotFoundError naming the folder and the
    command to run.
    """
    METAINFO = CityscapesDataset.METAINFO
    NAME = ''
    SUBCOMMAND = ''
    DOWNLOAD = ''

    def __init__(self, **kwargs) -> None:
        super().__init__(
            img_suffix='.png',
            seg_map_suffix='_labelTrainIds.png',
            reduce_zero_label=False,
            **kwargs)

    def _root(self):
        return self.data_root or osp.dirname(self.data_prefix.get('img_path', '')) or 'ROOT'

    def _convert_hint(self):
        return f'python tools/convert_datasets.py {self.SUBCOMMAND} {self._root()}'

    def load_data_list(self):
        img_dir = self.data_prefix.get('img_path', '')
        ann_dir = self.data_prefix.get('seg_map_path')
        if not osp.isdir(img_dir):
            raise FileNotFoundError(
                f'{self.NAME}: image folder {img_dir} does not exist; download '
                f'{self.DOWNLOAD}, extract it to {self._root()} and convert its labels '
                f'with: {self._convert_hint()}')
        if ann_dir and not osp.isdir(ann_dir):
            raise FileNotFoundError(
                f'{self.NAME}: label folder {ann_dir} does not exist; download {self.DOWNLOAD}, '
                f'extract it to {self._root()} and convert its labels with: '
                f'{self._convert_hint()}')
        if self.ann_file and not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{self.NAME}: split file {self.ann_file} does not exist')
        data_list = super().load_data_list()
        if not data_list:
            raise FileNotFoundError(f'{self.NAME}: no {self.img_suffix} images in {img_dir}')
        if ann_dir:
            missing = [info['seg_map_path'] for info in data_list
                       if not osp.isfile(info['seg_map_path'])]
            if missing:
                raise FileNotFoundError(
                    f'{self.NAME}: {len(missing)} of the {len(data_list)} images have no '
                    f'converted label in {ann_dir} (first: {missing[0]}); convert the '
                    f'labels with: {self._convert_hint()}')
        return data_list


@DATASETS.register_module()
class GTA5Dataset(_ConvertedSourceDataset):
    """GTA5 (Richter et al., ECCV 2016), 24,966 game frames with Cityscapes labels.

    Official layout under ``data_root``: ``images/00001.png`` ... and
    ``labels/00001.png`` (palette PNGs of Cityscapes label ids), converted to
    ``labels/00001_labelTrainIds.png`` by
    ``python tools/convert_datasets.py gta5 ROOT``. As DAFormer, all images
    are training images.
    """
    NAME = 'GTA5'
    SUBCOMMAND = 'gta5'
    DOWNLOAD = 'GTA5 (https://download.visinf.tu-darmstadt.de/data/from_games/)'

    def __init__(self, data_prefix=dict(img_path='images', seg_map_path='labels'),
                 **kwargs) -> None:
        super().__init__(data_prefix=data_prefix, **kwargs)


@DATASETS.register_module()
class SynthiaDataset(_ConvertedSourceDataset):
    """SYNTHIA-RAND-CITYSCAPES (Ros et al., CVPR 2016), 9,400 rendered frames.

    Official layout under ``data_root``: ``RGB/0000000.png`` ... and
    ``GT/LABELS/0000000.png`` (16-bit PNGs, SYNTHIA class ids), converted to
    ``GT/LABELS/0000000_labelTrainIds.png`` (the 19 Cityscapes classes, of
    which 16 occur) by ``python tools/convert_datasets.py synthia ROOT``.
    """
    NAME = 'SYNTHIA'
    SUBCOMMAND = 'synthia'
    DOWNLOAD = 'SYNTHIA-RAND-CITYSCAPES (http://synthia-dataset.net/downloads/)'

    def __init__(self, data_prefix=dict(img_path='RGB', seg_map_path='GT/LABELS'),
                 **kwargs) -> None:
        super().__init__(data_prefix=data_prefix, **kwargs)
