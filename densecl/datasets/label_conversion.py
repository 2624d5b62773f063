"""Label id tables and readers that turn the official Cityscapes, GTA5 and
SYNTHIA label files into Cityscapes train ids (0-18, 255 ignored).

Pure numpy / PIL / cv2, so that ``tools/convert_datasets.py`` and the tests
use the same tables. Sources of the tables:

* Cityscapes label ids: the official ``labels.py`` of cityscapesScripts
  (ids 0-33; the 19 evaluated classes get train ids 0-18, all others 255).
* GTA5: its label PNGs are palette images whose indices are Cityscapes
  label ids, so the same table applies (DAFormer ``tools/convert_datasets/gta.py``).
* SYNTHIA-RAND-CITYSCAPES: the class ids of its README (0 void, 13
  parking-slot, 14 road-work and 22 lane-marking have no Cityscapes class),
  mapped as in DAFormer ``tools/convert_datasets/synthia.py``.
"""
import cv2
import numpy as np
from PIL import Image

IGNORE_INDEX = 255
NUM_CLASSES = 19

# Cityscapes label id -> train id of the 19 evaluated classes. The other
# label ids (0-6 void, 9 parking, 10 rail track, 14 guard rail, 15 bridge,
# 16 tunnel, 18 polegroup, 29 caravan, 30 trailer) are ignored.
CITYSCAPES_ID_TO_TRAINID = {
    7: 0,  # road
    8: 1,  # sidewalk
    11: 2,  # building
    12: 3,  # wall
    13: 4,  # fence
    17: 5,  # pole
    19: 6,  # traffic light
    20: 7,  # traffic sign
    21: 8,  # vegetation
    22: 9,  # terrain
    23: 10,  # sky
    24: 11,  # person
    25: 12,  # rider
    26: 13,  # car
    27: 14,  # truck
    28: 15,  # bus
    31: 16,  # train
    32: 17,  # motorcycle
    33: 18,  # bicycle
}
NUM_CITYSCAPES_IDS = 34  # label ids 0-33 (license plate, -1, never appears in the PNGs)

# GTA5 label PNGs hold Cityscapes label ids as palette indices.
GTA5_ID_TO_TRAINID = dict(CITYSCAPES_ID_TO_TRAINID)

# SYNTHIA-RAND-CITYSCAPES class id -> Cityscapes train id. SYNTHIA has no
# terrain, truck or train pixels although its README names the ids.
SYNTHIA_ID_TO_TRAINID = {
    3: 0,  # road
    4: 1,  # sidewalk
    2: 2,  # building
    21: 3,  # wall
    5: 4,  # fence
    7: 5,  # pole
    15: 6,  # traffic light
    9: 7,  # traffic sign
    6: 8,  # vegetation
    16: 9,  # terrain
    1: 10,  # sky
    10: 11,  # pedestrian -> person
    17: 12,  # rider
    8: 13,  # car
    18: 14,  # truck
    19: 15,  # bus
    20: 16,  # train
    12: 17,  # motorcycle
    11: 18,  # bicycle
}
NUM_SYNTHIA_IDS = 23  # class ids 0-22


def lookup_table(id_to_trainid, size=256):
    """A uint8 array mapping every id below ``size`` to its train id (255 if unmapped)."""
    table = np.full(size, IGNORE_INDEX, dtype=np.uint8)
    for label_id, train_id in id_to_trainid.items():
        table[label_id] = train_id
    return table


def to_train_ids(label, id_to_trainid):
    """Map an integer label array to a uint8 train id array of the same shape."""
    label = np.asarray(label)
    if label.dtype.kind not in 'ui':
        raise TypeError(f'label ids must be integers, got dtype {label.dtype}')
    label = label.astype(np.int64)
    largest = int(label.max()) if label.size else 0
    table = lookup_table(id_to_trainid, size=max(max(id_to_trainid), largest) + 1)
    return np.where(label >= 0, table[np.maximum(label, 0)], IGNORE_INDEX).astype(np.uint8)


def read_cityscapes_label(path):
    """Label ids of a Cityscapes ``*_gtFine_labelIds.png`` (8-bit grayscale)."""
    with Image.open(path) as image:
        if image.mode not in ('L', 'P', 'I', 'I;16'):
            raise ValueError(f'{path}: expected a single-channel label id PNG, got mode '
                             f'{image.mode}')
        return np.array(image)


def read_gta5_label(path):
    """Label ids of a GTA5 ``labels/*.png``: the palette indices, not the colours."""
    with Image.open(path) as image:
        if image.mode not in ('P', 'L'):
            raise ValueError(f'{path}: expected a palette PNG whose indices are Cityscapes '
                             f'label ids, got mode {image.mode}')
        return np.array(image)  # a 'P' image gives its indices


def read_synthia_label(path):
    """SYNTHIA class ids of a ``GT/LABELS/*.png``.

    The release stores 16-bit three-channel PNGs whose first channel (R) is
    the class and the second the instance. PIL cannot read them at 16 bits;
    cv2 can but returns the channels as B, G, R, so the class is cv2's LAST
    channel (what DAFormer reads with ``[:, :, -1]``), i.e. index 2.
    """
    label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if label is None:
        raise OSError(f'{path}: cv2 could not read the image')
    if label.ndim == 2:
        return label
    if label.ndim == 3 and label.shape[2] in (3, 4):
        return label[:, :, 2]  # R of BGR / BGRA
    raise ValueError(f'{path}: unexpected SYNTHIA label shape {label.shape}')


# dataset -> (reader of the source label, its id table)
READERS = {
    'cityscapes': (read_cityscapes_label, CITYSCAPES_ID_TO_TRAINID),
    'gta5': (read_gta5_label, GTA5_ID_TO_TRAINID),
    'synthia': (read_synthia_label, SYNTHIA_ID_TO_TRAINID),
}


def convert_label(dataset, path):
    """Train ids (uint8, H x W) of one official label file of ``dataset``."""
    if dataset not in READERS:
        raise KeyError(f'unknown dataset {dataset!r}; choose from {sorted(READERS)}')
    reader, table = READERS[dataset]
    return to_train_ids(reader(path), table)


def class_pixel_counts(train_ids, num_classes=NUM_CLASSES):
    """Pixels of each train id present in a label, ``{train_id: count}``.

    One entry of DAFormer's ``sample_class_stats.json`` (there the keys are
    strings and a ``'file'`` key names the label): the input of rare-class
    sampling. Ignored pixels (255) are not counted.
    """
    counts = np.bincount(np.asarray(train_ids, dtype=np.int64).ravel(),
                         minlength=IGNORE_INDEX + 1)[:num_classes]
    return {int(c): int(n) for c, n in enumerate(counts) if n > 0}


def save_train_ids(train_ids, path):
    """Write train ids as a single-channel uint8 PNG."""
    train_ids = np.asarray(train_ids)
    if train_ids.dtype != np.uint8 or train_ids.ndim != 2:
        raise ValueError(f'train ids must be a 2-D uint8 array, got {train_ids.dtype} '
                         f'{train_ids.shape}')
    Image.fromarray(train_ids).save(path, format='PNG')
