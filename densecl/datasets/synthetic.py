"""toyscenes: densecl's procedural segmentation benchmark.

No public dataset can be downloaded where the suite is tested, so this module
draws one. A scene is a sky band over a textured ground with several objects
on it. Object classes are defined by shape AND texture; every instance gets a
random colour, size, position and drawing order, so colour alone never
identifies a class. Two visual styles (``source``, ``target``) differ in
palette, contrast, tint, blur and noise, for domain adaptation. The ``ood_val``
split pastes anomaly objects whose shapes and textures appear nowhere else;
the outlier bank used for OoD training has shapes and textures disjoint from
both. Everything is deterministic by seed: each image draws from its own
generator seeded with ``(seed, split, index)``, so a split does not depend on
the sizes of the others, and PNGs carry no timestamps.

Output (mmseg's folder layout)::

    out_dir/
      img_dir/{split}/{split}_00000.png    RGB image
      ann_dir/{split}/{split}_00000.png    uint8 class ids, 255 = ignore
      anomaly_dir/ood_val/ood_val_00000.png  uint8, 1 = anomaly pixel
      outliers/img/outlier_00000.png       RGB object crop, black outside
      outliers/mask/outlier_00000.png      uint8, 1 = object pixel
      splits/train_1-{2,...,64}.txt       nested labelled fractions of train
      meta.json                            seed, size, counts, classes ...
"""
import colorsys
import json
import os
import os.path as osp
import shutil
import tempfile

import cv2
import numpy as np

VERSION = 1
CLASSES = ('background', 'sky', 'disc', 'square', 'triangle', 'ring', 'cross',
           'star')
PALETTE = [[90, 60, 40], [120, 180, 240], [230, 25, 75], [60, 180, 75],
           [255, 225, 25], [145, 30, 180], [245, 130, 48], [70, 240, 240]]
# Texture of each object class; the shape is the class name.
CLASS_TEXTURES = dict(
    disc='dots',
    square='hstripes',
    triangle='checker',
    ring='speckle',
    cross='diagonal',
    star='vstripes')
# Unseen objects pasted into ood_val, and the disjoint bank for OoD training.
ANOMALY_KINDS = (('crescent', 'concentric'), ('hexagon', 'pinwheel'),
                 ('heart', 'zigzag'))
OUTLIER_KINDS = (('ellipse', 'waves'), ('arrow', 'blocks'), ('blob',
                                                             'gradient'))

SPLITS = dict(
    train='source',
    val='source',
    unlabeled='source',
    target_train='target',
    target_val='target',
    ood_val='source')
DEFAULT_COUNTS = dict(
    train=400,
    val=100,
    unlabeled=400,
    target_train=400,
    target_val=100,
    ood_val=100,
    outliers=200)
FRACTIONS = (2, 4, 8, 16, 32, 64)
# Drawing an image holds about 100 bytes a pixel (float copies of it): 0.4 GiB
# at 2048 x 2048, where --size 100000 would ask for terabytes.
MAX_SIZE = 2048
# File names carry five digits (train_00000.png): more would break their order.
MAX_COUNT = 99999
# Stable stream ids for seeding (never Python's salted hash()).
_STREAMS = tuple(SPLITS) + ('outliers', 'fractions')
_PNG = [cv2.IMWRITE_PNG_COMPRESSION, 3]

# Per style: HSV ranges (hue, saturation, value) of objects, sky and ground,
# texture contrast (second colour = first x factor) and image finishing.
STYLES = dict(
    source=dict(
        obj_hsv=((0, 1), (0.55, 1.0), (0.6, 1.0)),
        shade=(0.25, 0.5),
        sky_top=((0.55, 0.65), (0.5, 0.8), (0.7, 0.95)),
        sky_horizon=((0.5, 0.6), (0.1, 0.3), (0.9, 1.0)),
        ground=((0.2, 0.38), (0.3, 0.6), (0.35, 0.6)),
        contrast=1.0,
        tint=(0, 0, 0),
        blur=0.0,
        noise=4.0),
    target=dict(
        obj_hsv=((0, 1), (0.2, 0.55), (0.45, 0.85)),
        shade=(0.4, 0.6),
        sky_top=((0.7, 0.8), (0.3, 0.5), (0.3, 0.5)),
        sky_horizon=((0.04, 0.1), (0.5, 0.7), (0.7, 0.9)),
        ground=((0.05, 0.12), (0.1, 0.35), (0.3, 0.5)),
        contrast=0.7,
        tint=(14, -2, -16),
        blur=0.8,
        noise=9.0))


def _circle(n=48):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([np.cos(t), np.sin(t)], 1)


def _regular(k, radius=1.0, phase=-np.pi / 2):
    t = phase + np.arange(k) * 2 * np.pi / k
    return radius * np.stack([np.cos(t), np.sin(t)], 1)


def _star(points=5, inner=0.45):
    tips = _regular(points)
    valleys = _regular(points, inner, -np.pi / 2 + np.pi / points)
    return np.stack([tips, valleys], 1).reshape(-1, 2)


def _cross(w=0.3):
    a = [(-w, -1), (w, -1), (w, -w), (1, -w), (1, w), (w, w), (w, 1), (-w, 1),
         (-w, w), (-1, w), (-1, -w), (-w, -w)]
    return np.array(a, float)


def _heart():
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    x = 16 * np.sin(t)**3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) -
          np.cos(4 * t))
    return np.stack([x, y + 3], 1) / 17


def _blob(rng):
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    radius = 0.8 + sum(
        rng.uniform(0, 0.12) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
        for k in (2, 3))
    return radius[:, None] * np.stack([np.cos(t), np.sin(t)], 1)


def _shape(name, rng):
    """Unit-size shape as a list of (polygon, fill) drawn in order."""
    if name == 'disc':
        return [(_circle(), 1)]
    if name == 'ring':
        return [(_circle(), 1), (0.55 * _circle(), 0)]
    if name == 'square':
        return [(0.75 * np.array([(-1, -1), (1, -1), (1, 1), (-1, 1)]), 1)]
    if name == 'triangle':
        return [(_regular(3), 1)]
    if name == 'cross':
        return [(_cross(), 1)]
    if name == 'star':
        return [(_star(), 1)]
    if name == 'crescent':
        return [(_circle(), 1), (0.8 * _circle() + (0.5, 0), 0)]
    if name == 'hexagon':
        return [(_regular(6), 1)]
    if name == 'heart':
        return [(_heart(), 1)]
    if name == 'ellipse':
        return [(_circle() * (1, 0.45), 1)]
    if name == 'arrow':
        arrow = [(-1, -0.25), (0.2, -0.25), (0.2, -0.6), (1, 0), (0.2, 0.6),
                 (0.2, 0.25), (-1, 0.25)]
        return [(np.array(arrow, float), 1)]
    if name == 'blob':
        return [(_blob(rng), 1)]
    raise KeyError(f'unknown toyscenes shape {name!r}')


def shape_mask(name, size, cx, cy, radius, angle, rng):
    """Boolean (size, size) mask of a shape centred at (cx, cy)."""
    return polygon_mask(_shape(name, rng), size, cx, cy, radius, angle)


def polygon_mask(parts, size, cx, cy, radius, angle):
    """Boolean (size, size) mask of unit-size ``parts`` ((polygon, fill)
    pairs, drawn in order) rotated by ``angle``, scaled by ``radius`` and
    centred at (cx, cy)."""
    rot = np.array([[np.cos(angle), -np.sin(angle)],
                    [np.sin(angle), np.cos(angle)]])
    mask = np.zeros((size, size), np.uint8)
    for poly, fill in parts:
        pts = poly @ rot.T * radius + (cx, cy)
        cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], fill,
                     cv2.LINE_8, 4)
    return mask.astype(bool)


def texture(name, u, v, period, rng):
    """Pattern in [0, 1] at offsets (u, v) from the object centre.

    Stripe orientations are fixed in the image frame (they are part of the
    class definition); the phase is random per instance.
    """
    p = period
    du, dv = rng.uniform(0, p, 2)
    if name == 'dots':
        a, b = (u + du) % p - p / 2, (v + dv) % p - p / 2
        return (a * a + b * b < (0.3 * p)**2).astype(np.float32)
    if name == 'hstripes':
        return ((v + dv) % p < p / 2).astype(np.float32)
    if name == 'vstripes':
        return ((u + du) % p < p / 2).astype(np.float32)
    if name == 'diagonal':
        sign = rng.choice((-1, 1))
        return ((u + sign * v + du) % p < p / 2).astype(np.float32)
    if name == 'checker':
        return ((np.floor((u + du) / p) + np.floor(
            (v + dv) / p)) % 2).astype(np.float32)
    if name == 'speckle':
        return np.clip(rng.normal(0.3, 0.3, u.shape), 0, 1).astype(np.float32)
    if name == 'concentric':
        return (np.hypot(u, v) % p < p / 2).astype(np.float32)
    if name == 'pinwheel':
        sector = (np.arctan2(v, u) + np.pi + du) * 8 / (2 * np.pi)
        return (np.floor(sector) % 2).astype(np.float32)
    if name == 'zigzag':
        tri = np.abs((u + du) % (2 * p) - p)
        return ((v + tri + dv) % p < p / 2).astype(np.float32)
    if name == 'waves':
        wave = 0.6 * p * np.sin(2 * np.pi * u / (4 * p) + du)
        return ((v + wave + dv) % p < p / 2).astype(np.float32)
    if name == 'blocks':
        cell = 1.5 * p
        grid = rng.random((64, 64)) < 0.5
        i = np.floor((v + dv) / cell).astype(int) % 64
        j = np.floor((u + du) / cell).astype(int) % 64
        return grid[i, j].astype(np.float32)
    if name == 'gradient':
        a = rng.uniform(0, 2 * np.pi)
        r = max(np.abs(u).max(), np.abs(v).max(), 1)
        ramp = (u * np.cos(a) + v * np.sin(a)) / (2 * r) + 0.5
        return np.clip(ramp, 0, 1).astype(np.float32)
    raise KeyError(f'unknown toyscenes texture {name!r}')


def _hsv(rng, ranges):
    h, s, v = (rng.uniform(lo, hi) for lo, hi in ranges)
    return np.array(colorsys.hsv_to_rgb(h, s, v), np.float32) * 255


def _lowfreq(rng, size, cells):
    noise = rng.normal(size=(cells, cells)).astype(np.float32)
    return cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)


def draw_object(img, rng, shape, tex, style, cx, cy, radius):
    """Paint one textured object of random colour on ``img``; return mask."""
    size = img.shape[0]
    mask = shape_mask(shape, size, cx, cy, radius, rng.uniform(0, 2 * np.pi),
                      rng)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return mask
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    v, u = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    t = texture(tex, u - cx, v - cy, rng.uniform(0.045, 0.075) * size, rng)
    c1 = _hsv(rng, style['obj_hsv'])
    c2 = c1 * rng.uniform(*style['shade'])
    if rng.random() < 0.5:
        c1, c2 = c2, c1
    patch = c1 + t[..., None] * (c2 - c1)
    m = mask[y0:y1, x0:x1]
    img[y0:y1, x0:x1][m] = patch[m]
    return mask


def _background(rng, size, style):
    """Sky gradient band over a wavy horizon; low-frequency textured ground."""
    y = np.arange(size, dtype=np.float32)[:, None]
    x = np.arange(size, dtype=np.float32)[None, :]
    level, amp = rng.uniform(0.2, 0.4), rng.uniform(0, 0.04)
    freq, phase = 2 * np.pi / rng.uniform(0.5, 1.5), rng.uniform(0, 2 * np.pi)
    horizon = size * (level + amp * np.sin(freq * x / size + phase))
    sky = y < horizon
    frac = np.clip(y / horizon, 0, 1)[..., None]
    top, low = _hsv(rng, style['sky_top']), _hsv(rng, style['sky_horizon'])
    clouds = 12 * _lowfreq(rng, size, 6)[..., None]
    sky_rgb = top + frac * (low - top) + clouds
    base = _hsv(rng, style['ground'])
    relief = (0.25 * _lowfreq(rng, size, 5) + 0.12 * _lowfreq(rng, size, 24) +
              0.08 * rng.normal(size=(size, size)))[..., None]
    ground_rgb = base * (1 + relief)
    img = np.where(sky[..., None], sky_rgb, ground_rgb).astype(np.float32)
    label = np.where(sky, 1, 0).astype(np.uint8)
    return img, label


def _finish(img, rng, style):
    """Apply the style's contrast, tint, blur and sensor noise."""
    img = (img - 128) * style['contrast'] + 128 + np.float32(style['tint'])
    if style['blur'] > 0:
        img = cv2.GaussianBlur(img, (0, 0), style['blur'])
    img = img + rng.normal(0, style['noise'], img.shape).astype(np.float32)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _rng(seed, stream, index):
    return np.random.default_rng([seed, _STREAMS.index(stream), index])


def render_scene(seed, split, index, size=128):
    """Draw image ``index`` of ``split``.

    Returns:
        tuple: RGB uint8 image (size, size, 3), uint8 label map and uint8
        anomaly mask (all zero outside ood_val).
    """
    rng = _rng(seed, split, index)
    style = STYLES[SPLITS[split]]
    img, label = _background(rng, size, style)
    classes = list(CLASS_TEXTURES)
    num = int(rng.integers(3, 8))
    order = np.concatenate([rng.permutation(len(classes)) for _ in range(2)])
    for k in order[:num]:
        r = rng.uniform(0.07, 0.17) * size
        cx = rng.uniform(0.5 * r, size - 0.5 * r)
        cy = rng.uniform(0.2 * size, size - 0.3 * r)
        shape = classes[k]
        mask = draw_object(img, rng, shape, CLASS_TEXTURES[shape], style, cx,
                           cy, r)
        label[mask] = CLASSES.index(shape)
    anomaly = np.zeros((size, size), np.uint8)
    if split == 'ood_val':
        for _ in range(int(rng.integers(1, 3))):
            shape, tex = ANOMALY_KINDS[rng.integers(len(ANOMALY_KINDS))]
            r = rng.uniform(0.1, 0.2) * size
            cx = rng.uniform(r, size - r)
            cy = rng.uniform(0.3 * size, size - r)
            mask = draw_object(img, rng, shape, tex, style, cx, cy, r)
            label[mask] = 255
            anomaly[mask] = 1
    return _finish(img, rng, style), label, anomaly


def render_outlier(seed, index, size=128):
    """Draw outlier object ``index``: a tight RGB crop and its 0/1 mask."""
    rng = _rng(seed, 'outliers', index)
    style = STYLES['source']
    shape, tex = OUTLIER_KINDS[rng.integers(len(OUTLIER_KINDS))]
    r = rng.uniform(0.1, 0.2) * size
    side = 2 * int(np.ceil(r)) + 3
    img = np.zeros((side, side, 3), np.float32)
    mask = draw_object(img, rng, shape, tex, style, side / 2, side / 2, r)
    noisy = img + rng.normal(0, style['noise'], img.shape)
    crop = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
    crop[~mask] = 0
    return crop, mask.astype(np.uint8)


def fraction_splits(seed, names):
    """Nested labelled subsets of ``names``: {k: first ceil(n/k) of a shuffle}.

    Each smaller fraction is a subset of every larger one.
    """
    perm = [
        names[i] for i in _rng(seed, 'fractions', 0).permutation(len(names))
    ]
    return {k: sorted(perm[:-(-len(names) // k)]) for k in FRACTIONS}


def _write_png(path, array):
    if array.ndim == 3:
        array = array[..., ::-1]  # RGB -> BGR for cv2
    if not cv2.imwrite(path, np.ascontiguousarray(array), _PNG):
        raise OSError(f'could not write {path}')


OWNED_ENTRIES = ('img_dir', 'ann_dir', 'anomaly_dir', 'outliers', 'splits')


def check_arguments(seed, size, counts):
    """Return the full per-split counts; raise ``ValueError`` naming the
    first invalid argument (before anything is written)."""
    unknown = set(counts or {}) - set(DEFAULT_COUNTS)
    if unknown:
        raise ValueError(f'unknown toyscenes splits {sorted(unknown)}; '
                         f'known: {list(DEFAULT_COUNTS)}')
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f'seed must be an integer >= 0, got {seed!r}')
    if not 32 <= size <= MAX_SIZE:
        raise ValueError(f'size must be between 32 and {MAX_SIZE}, got {size}: drawing an '
                         f'image holds about 100 bytes a pixel (0.4 GiB at {MAX_SIZE})')
    counts = {**DEFAULT_COUNTS, **(counts or {})}
    for split, num in counts.items():
        least = 1 if split == 'train' else 0
        if not least <= num <= MAX_COUNT:
            raise ValueError(f'the {split} count (--num-'
                             f'{split.replace("_", "-")}) must be between {least} and '
                             f'{MAX_COUNT} (file names carry five digits), got {num}')
    return counts


def is_toyscenes(out_dir):
    """Whether ``out_dir`` holds a complete toyscenes dataset."""
    try:
        with open(osp.join(out_dir, 'meta.json')) as f:
            return json.load(f).get('name') == 'toyscenes'
    except (OSError, ValueError, AttributeError):
        return False


def check_out_dir(out_dir, force=False):
    """Refuse an ``out_dir`` that is a file, or a non-empty folder that holds
    no toyscenes dataset (unless ``force``)."""
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise NotADirectoryError(f'{out_dir} exists and is not a folder')
    if (osp.isdir(out_dir) and os.listdir(out_dir) and not force
            and not is_toyscenes(out_dir)):
        raise FileExistsError(
            f'{out_dir} is not empty and holds no toyscenes dataset '
            '(meta.json); choose another output folder, or force writing '
            'the toyscenes folders into it (--force; its other files are '
            'kept)')


def move_into_place(new_dir, out_dir):
    """Replace the generator's entries of ``out_dir`` with those of
    ``new_dir``, leaving other files alone. meta.json goes first and comes
    last, so an interrupted swap never looks like a complete dataset."""
    if not osp.exists(out_dir):
        os.rename(new_dir, out_dir)
        return
    meta = osp.join(out_dir, 'meta.json')
    if osp.exists(meta):
        os.remove(meta)
    old_dir = tempfile.mkdtemp(prefix='.toyscenes-old-', dir=out_dir)
    try:
        for entry in OWNED_ENTRIES:
            if osp.exists(osp.join(out_dir, entry)):
                os.rename(osp.join(out_dir, entry), osp.join(old_dir, entry))
            os.rename(osp.join(new_dir, entry), osp.join(out_dir, entry))
        os.rename(osp.join(new_dir, 'meta.json'), meta)
    finally:
        shutil.rmtree(old_dir)


def generate(out_dir, seed=0, size=128, counts=None, force=False):
    """Write the benchmark to ``out_dir``; return its meta dict.

    Args:
        out_dir (str): Output root (the configs' ``data_root``).
        seed (int): Global seed (>= 0); same seed gives identical files.
        size (int): Image side in pixels. Defaults to 128.
        counts (dict, optional): Overrides of ``DEFAULT_COUNTS`` per split
            (and ``outliers``); ``train`` needs at least one image.
        force (bool): Write into a non-empty ``out_dir`` that holds no
            toyscenes dataset. Defaults to False.

    Every argument is checked before anything is written. The dataset is
    written into a temporary sibling folder and moved into place only when
    complete, replacing the generator's entries of a previous run (so no
    stale files remain) and keeping any other file of ``out_dir``.
    """
    counts = check_arguments(seed, size, counts)
    check_out_dir(out_dir, force)
    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    new_dir = tempfile.mkdtemp(prefix='.toyscenes-new-', dir=parent)
    try:
        meta = _write(new_dir, seed, size, counts)
        move_into_place(new_dir, out_dir)
    finally:
        shutil.rmtree(new_dir, ignore_errors=True)
    return meta


def _write(out_dir, seed, size, counts):
    """Write every file of the benchmark into the empty ``out_dir``."""
    names = {}
    for split in SPLITS:
        img_dir = osp.join(out_dir, 'img_dir', split)
        ann_dir = osp.join(out_dir, 'ann_dir', split)
        os.makedirs(img_dir)
        os.makedirs(ann_dir)
        if split == 'ood_val':
            anomaly_dir = osp.join(out_dir, 'anomaly_dir', split)
            os.makedirs(anomaly_dir)
        names[split] = [f'{split}_{i:05d}' for i in range(counts[split])]
        for i, name in enumerate(names[split]):
            img, label, anomaly = render_scene(seed, split, i, size)
            _write_png(osp.join(img_dir, name + '.png'), img)
            _write_png(osp.join(ann_dir, name + '.png'), label)
            if split == 'ood_val':
                _write_png(osp.join(anomaly_dir, name + '.png'), anomaly)

    for sub in ('img', 'mask'):
        os.makedirs(osp.join(out_dir, 'outliers', sub))
    for i in range(counts['outliers']):
        crop, mask = render_outlier(seed, i, size)
        name = f'outlier_{i:05d}.png'
        _write_png(osp.join(out_dir, 'outliers', 'img', name), crop)
        _write_png(osp.join(out_dir, 'outliers', 'mask', name), mask)

    os.makedirs(osp.join(out_dir, 'splits'))
    fractions = fraction_splits(seed, names['train']) if names['train'] else {}
    for k, subset in fractions.items():
        with open(osp.join(out_dir, 'splits', f'train_1-{k}.txt'), 'w') as f:
            f.write(''.join(n + '\n' for n in subset))

    meta = dict(
        name='toyscenes',
        version=VERSION,
        seed=seed,
        size=size,
        counts=counts,
        styles=SPLITS,
        classes=list(CLASSES),
        palette=PALETTE,
        class_textures=CLASS_TEXTURES,
        anomaly_kinds=[list(k) for k in ANOMALY_KINDS],
        outlier_kinds=[list(k) for k in OUTLIER_KINDS],
        fractions={
            f'train_1-{k}': len(v)
            for k, v in fractions.items()
        })
    with open(osp.join(out_dir, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.write('\n')
    return meta


def _colorize(label):
    lut = np.full((256, 3), 255, np.uint8)
    lut[:len(PALETTE)] = PALETTE
    return lut[label]


def _legend(width):
    bar = np.full((18, width, 3), 255, np.uint8)
    x = 4
    for name, colour in zip(CLASSES + ('ignore', ), PALETTE + [[255] * 3]):
        cv2.rectangle(bar, (x, 4), (x + 10, 14), colour[::-1], -1)
        cv2.rectangle(bar, (x, 4), (x + 10, 14), (0, 0, 0), 1)
        cv2.putText(bar, name, (x + 13, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.33,
                    (0, 0, 0), 1, cv2.LINE_AA)
        x += 17 + 6 * len(name)
    return bar


def contact_sheets(data_dir, docs_dir, num=6, cols=3):
    """Write docs_dir/toyscenes_<split>.png grids from the files on disk.

    Each cell shows an image, its colour-coded label map and, for ood_val,
    the anomaly mask, so misaligned labels are visible at a glance; a last
    sheet shows outlier crops next to their masks.
    """
    os.makedirs(docs_dir, exist_ok=True)
    written = []
    for split in SPLITS:
        img_dir = osp.join(data_dir, 'img_dir', split)
        cells = []
        for name in sorted(os.listdir(img_dir))[:num]:
            parts = [
                cv2.imread(osp.join(img_dir, name)),
                _colorize(_read(data_dir, 'ann_dir', split, name))[..., ::-1]
            ]
            if split == 'ood_val':
                parts.append(
                    _binary(_read(data_dir, 'anomaly_dir', split, name)))
            cells.append(np.concatenate(parts, 1))
        if cells:
            sheet = _grid(cells, cols)
            sheet = np.concatenate([sheet, _legend(sheet.shape[1])], 0)
            written.append(_write_sheet(docs_dir, split, sheet))
    names = sorted(os.listdir(osp.join(data_dir, 'outliers', 'img')))[:16]
    cells = [
        np.concatenate([
            cv2.imread(osp.join(data_dir, 'outliers', 'img', name)),
            _binary(_read(data_dir, 'outliers', 'mask', name))
        ], 1) for name in names
    ]
    if cells:
        written.append(_write_sheet(docs_dir, 'outliers', _grid(cells, 8)))
    return written


def _read(*parts):
    return cv2.imread(osp.join(*parts), cv2.IMREAD_UNCHANGED)


def _binary(mask):
    return np.repeat(mask[..., None] * 255, 3, 2)


def _grid(cells, cols, border=3):
    """Tile BGR cells (padded to a common size) with white borders."""
    h = max(c.shape[0] for c in cells) + 2 * border
    w = max(c.shape[1] for c in cells) + 2 * border
    rows = -(-len(cells) // cols)
    grid = np.full((rows * h, cols * w, 3), 255, np.uint8)
    for i, cell in enumerate(cells):
        y, x = i // cols * h + border, i % cols * w + border
        grid[y:y + cell.shape[0], x:x + cell.shape[1]] = cell
    return grid


def _write_sheet(docs_dir, name, sheet):
    path = osp.join(docs_dir, f'toyscenes_{name}.png')
    cv2.imwrite(path, sheet, _PNG)
    return path
