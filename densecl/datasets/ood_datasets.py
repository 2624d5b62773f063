"""Pixel-wise OoD evaluation datasets: Fishyscapes, Road Anomaly and SegmentMeIfYouCan.

Every sample's ``gt_sem_seg`` holds the anomaly labels read by ``LoadAnnotations``:
0 inlier, 1 anomaly, 255 void, for ``OoDMetric(anomaly_labels='gt_sem_seg')``. The
label files are single-channel PNGs, so ``LoadAnnotations`` reads them unchanged;
Road Anomaly's raw release (0 background, 1 road, 2 anomaly) is remapped through the
sample's ``label_map``. Where the file itself already holds 0/1/255 the sample also
names it as ``anomaly_path``, so ``OoDMetric(anomaly_labels='anomaly_path')`` works
too; the raw Road Anomaly labels need the remapping and have no ``anomaly_path``.
"""
import json
import os
import os.path as osp

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

IMG_SUFFIXES = ('.jpg', '.jpeg', '.png', '.webp')
# raw Road Anomaly (labels_semantic.png): 0 background, 1 road, 2 anomaly
RAW_ROAD_ANOMALY_LABEL_MAP = {1: 0, 2: 1}


def _require_dir(name, path, hint):
    if not osp.isdir(path):
        raise FileNotFoundError(f'{name}: {path} does not exist; {hint}')


def _images(name, img_dir, suffixes=IMG_SUFFIXES):
    files = sorted(f for f in os.listdir(img_dir) if f.lower().endswith(suffixes))
    if not files:
        raise FileNotFoundError(f'{name}: no images ({"/".join(suffixes)}) in {img_dir}')
    return files


def _check_labels(name, data_list):
    missing = [info['seg_map_path'] for info in data_list if not osp.isfile(info['seg_map_path'])]
    if missing:
        raise FileNotFoundError(f'{name}: {len(missing)} label file(s) missing, first '
                                f'{missing[0]}')
    return data_list


class _OoDEvalDataset(BaseSegDataset):
    """Base of the OoD benchmarks: samples listed from the official folder layout."""
    METAINFO = dict(classes=('inlier', 'anomaly'), palette=[[144, 238, 144], [255, 102, 102]])

    def __init__(self, **kwargs) -> None:
        if not kwargs.get('data_root'):
            raise ValueError(f'{type(self).__name__} needs data_root, the benchmark folder')
        super().__init__(reduce_zero_label=False, **kwargs)

    def _sample(self, img_path, seg_map_path, label_map=None, anomaly_file=True):
        info = dict(img_path=img_path, seg_map_path=seg_map_path,
                    label_map=label_map if label_map is not None else self.label_map,
                    reduce_zero_label=False, seg_fields=[])
        if anomaly_file:
            info['anomaly_path'] = seg_map_path
        return info


@DATASETS.register_module()
class FishyscapesDataset(_OoDEvalDataset):
    """Fishyscapes Lost & Found or Static validation, in the layout RPL reads.

    ``data_root/<split>/original/*.png`` with ``data_root/<split>/labels/<name>.png``
    (0 inlier, 1 anomaly, 255 void), as in RPL's ``dataset/validation/fishyscapes.py``
    (the other folders of that layout, e.g. ``labels_with_ROI``, are not read).

    Args:
        split (str): 'LostAndFound' or 'Static'.
    """
    SPLITS = ('LostAndFound', 'Static')

    def __init__(self, split='LostAndFound', **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'FishyscapesDataset: unknown split {split!r}, known: '
                             f'{", ".join(self.SPLITS)}')
        self.split = split
        super().__init__(**kwargs)

    def load_data_list(self):
        root = osp.join(self.data_root, self.split)
        img_dir = osp.join(root, 'original')
        _require_dir('Fishyscapes', img_dir,
                     f'expected {root}/original/*.png and {root}/labels/*.png')
        return _check_labels('Fishyscapes', [
            self._sample(osp.join(img_dir, f),
                         osp.join(root, 'labels', osp.splitext(f)[0] + '.png'))
            for f in _images('Fishyscapes', img_dir, ('.png', ))])


@DATASETS.register_module()
class RoadAnomalyDataset(_OoDEvalDataset):
    """Road Anomaly (Lis et al., ICCV 2019), preprocessed or as released.

    ``variant='preprocessed'``: ``original/*.jpg`` with ``labels/<name>.png`` (0/1) as
    RPL's ``dataset/validation/road_anomaly.py`` reads, or the SMIYC-style copy with
    ``images/`` and ``labels_masks/<name>.png``. ``variant='raw'``: the release
    ``RoadAnomaly_jpg`` (``data_root`` itself or ``data_root/RoadAnomaly_jpg``) with
    ``frame_list.json``, ``frames/<name>.jpg`` and
    ``frames/<name>.labels/labels_semantic.png``, where 0 is background, 1 road and
    2 anomaly: road and background become 0, anomaly 1 (``label_map``).

    Args:
        variant (str): 'preprocessed' or 'raw'.
    """
    VARIANTS = ('preprocessed', 'raw')
    PREPROCESSED_FOLDERS = (('original', 'labels'), ('images', 'labels_masks'))

    def __init__(self, variant='preprocessed', **kwargs) -> None:
        if variant not in self.VARIANTS:
            raise ValueError(f'RoadAnomalyDataset: unknown variant {variant!r}, known: '
                             f'{", ".join(self.VARIANTS)}')
        self.variant = variant
        super().__init__(**kwargs)

    def load_data_list(self):
        if self.variant == 'raw':
            return self._load_raw()
        for img_folder, label_folder in self.PREPROCESSED_FOLDERS:
            img_dir = osp.join(self.data_root, img_folder)
            if osp.isdir(img_dir):
                return _check_labels('Road Anomaly', [
                    self._sample(osp.join(img_dir, f),
                                 osp.join(self.data_root, label_folder,
                                          osp.splitext(f)[0] + '.png'))
                    for f in _images('Road Anomaly', img_dir)])
        raise FileNotFoundError(
            f'Road Anomaly: neither {self.data_root}/original nor {self.data_root}/images '
            "exists; for the release's RoadAnomaly_jpg folder set variant='raw'")

    def _load_raw(self):
        root = self.data_root
        if not osp.isfile(osp.join(root, 'frame_list.json')):
            root = osp.join(self.data_root, 'RoadAnomaly_jpg')
        frame_list = osp.join(root, 'frame_list.json')
        if not osp.isfile(frame_list):
            raise FileNotFoundError(
                f'Road Anomaly: no frame_list.json in {self.data_root} or {root}; unpack the '
                "release RoadAnomaly_jpg.zip there, or set variant='preprocessed'")
        with open(frame_list) as f:
            frames = json.load(f)
        if not frames:
            raise FileNotFoundError(f'Road Anomaly: {frame_list} lists no frames')
        frame_dir = osp.join(root, 'frames')
        data_list = [
            self._sample(osp.join(frame_dir, name),
                         osp.join(frame_dir, osp.splitext(name)[0] + '.labels',
                                  'labels_semantic.png'),
                         label_map=dict(RAW_ROAD_ANOMALY_LABEL_MAP), anomaly_file=False)
            for name in frames]
        missing = [info['img_path'] for info in data_list if not osp.isfile(info['img_path'])]
        if missing:
            raise FileNotFoundError(f'Road Anomaly: {frame_list} names {len(missing)} frame(s) '
                                    f'that do not exist, first {missing[0]}')
        return _check_labels('Road Anomaly', data_list)


@DATASETS.register_module()
class SMIYCDataset(_OoDEvalDataset):
    """SegmentMeIfYouCan (Chan et al., NeurIPS 2021) validation frames of one track.

    The release folders ``dataset_AnomalyTrack`` (RoadAnomaly21, ``.jpg``) and
    ``dataset_ObstacleTrack`` (RoadObstacle21, ``.webp``) under ``data_root`` (or the
    copies named ``RoadAnomaly21`` / ``RoadObsticle21``), each with ``images/`` and
    ``labels_masks/``. Only frames with a label are listed (the test frames have
    none): ``labels_masks/<name>_labels_semantic.png`` (or ``<name>.png`` where no
    file has that suffix) for ``images/<name>.*``; the ``*color*`` previews are
    skipped. Labels: 0 inlier, 1 anomaly, 255 void; on the obstacle track 255 also
    marks everything off the road, so only the road is evaluated there.

    Args:
        track (str): 'anomaly' or 'obstacle'.
    """
    TRACK_FOLDERS = dict(
        anomaly=('dataset_AnomalyTrack', 'RoadAnomaly21'),
        obstacle=('dataset_ObstacleTrack', 'RoadObstacle21', 'RoadObsticle21'))
    LABEL_SUFFIX = '_labels_semantic.png'

    def __init__(self, track='anomaly', **kwargs) -> None:
        if track not in self.TRACK_FOLDERS:
            raise ValueError(f'SMIYCDataset: unknown track {track!r}, known: '
                             f'{", ".join(self.TRACK_FOLDERS)}')
        self.track = track
        super().__init__(**kwargs)

    def load_data_list(self):
        folders = self.TRACK_FOLDERS[self.track]
        roots = [osp.join(self.data_root, folder) for folder in folders]
        root = next((r for r in roots if osp.isdir(osp.join(r, 'labels_masks'))), None)
        if root is None:
            raise FileNotFoundError(
                f'SMIYC: no {" or ".join(roots)} with images/ and labels_masks/ for the '
                f'{self.track} track')
        label_dir, img_dir = osp.join(root, 'labels_masks'), osp.join(root, 'images')
        _require_dir('SMIYC', img_dir, f'expected the images of {root} there')
        images = {osp.splitext(f)[0]: f for f in _images('SMIYC', img_dir)}
        labels = sorted(f for f in os.listdir(label_dir) if f.endswith('.png') and 'color' not in f)
        semantic = [f for f in labels if f.endswith(self.LABEL_SUFFIX)]
        data_list = []
        for label in semantic or labels:
            stem = label[:-len(self.LABEL_SUFFIX if semantic else '.png')]
            if stem not in images:
                raise FileNotFoundError(f'SMIYC: no image {stem}.* in {img_dir} for '
                                        f'{osp.join(label_dir, label)}')
            data_list.append(self._sample(osp.join(img_dir, images[stem]),
                                          osp.join(label_dir, label)))
        if not data_list:
            raise FileNotFoundError(f'SMIYC: no label files in {label_dir}')
        return data_list
