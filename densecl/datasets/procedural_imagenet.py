"""Procedural ImageNet: a classification set for supervised backbone pretraining.

Papers start their segmenters from ImageNet-pretrained backbones; no public
dataset can be downloaded where the suite runs, so this module draws a stand-in
on the fly (nothing is written to disk). Each image shows one dominant object,
sometimes with a few small distractors of other classes, on a textured
background; the label is the dominant object's shape. The 40 classes are the
six toyscenes object shapes plus 34 other shapes; none is an anomaly or outlier
shape of toyscenes (``ANOMALY_KINDS``, ``OUTLIER_KINDS``), so OoD benchmarks
stay unseen after pretraining. Textures (marble, hatch, plaid, bricks, cells,
clouds, flat) and palettes (any hue, muted to vivid, no sky band) differ from
toyscenes', so transfer to toyscenes is a real domain change.

Sample ``index`` of a split is a pure function of ``(seed, split, index)``: it
is drawn from its own generator, so a split does not depend on the others and
a resumed training sees the same images. Labels cycle through the classes
(``index % num_classes``), so every split is balanced.
"""
import numpy as np
import torch
from torch.utils.data import Dataset

from .synthetic import (CLASS_TEXTURES, _circle, _cross, _hsv, _lowfreq, _regular, _star,
                        polygon_mask, shape_mask)

SPLITS = ('train', 'val')
DEFAULT_NUM_SAMPLES = dict(train=100_000, val=2_000)
# Part of every generator's seed, so no sample shares a stream with toyscenes.
_NAMESPACE = 0x50494E


def _box(half_w, half_h, cx=0.0, cy=0.0):
    return np.array([(-half_w, -half_h), (half_w, -half_h), (half_w, half_h),
                     (-half_w, half_h)], float) + (cx, cy)


def _gear(teeth=10):
    t = np.linspace(0, 2 * np.pi, 4 * teeth, endpoint=False)
    radius = np.where(np.arange(4 * teeth) % 4 < 2, 1.0, 0.72)
    return radius[:, None] * np.stack([np.cos(t), np.sin(t)], 1)


def _arc(start, stop, n=32):
    t = np.linspace(start, stop, n)
    return np.stack([np.cos(t), np.sin(t)], 1)


def _poly(points):
    return np.array(points, float)


# Unit-size shapes as (polygon, fill) parts drawn in order (0 cuts a hole).
NEW_SHAPES = dict(
    frame=[(_box(0.8, 0.8), 1), (_box(0.45, 0.45), 0)],
    hollow_triangle=[(_regular(3), 1), (_regular(3, 0.45), 0)],
    thin_ring=[(_circle(), 1), (0.78 * _circle(), 0)],
    target=[(_circle(), 1), (0.75 * _circle(), 0), (0.42 * _circle(), 1)],
    star4=[(_star(4, 0.35), 1)],
    star6=[(_star(6, 0.55), 1)],
    star8=[(_star(8, 0.5), 1)],
    thin_cross=[(_cross(0.13), 1)],
    rectangle=[(_box(0.9, 0.6), 1)],
    diamond=[(_poly([(-1, 0), (0, -0.55), (1, 0), (0, 0.55)]), 1)],
    trapezoid=[(_poly([(-1, 0.55), (1, 0.55), (0.4, -0.55), (-0.4, -0.55)]), 1)],
    parallelogram=[(_poly([(-1, 0.45), (0.35, 0.45), (1, -0.45), (-0.35, -0.45)]), 1)],
    right_triangle=[(_poly([(-0.8, 0.8), (0.8, 0.8), (-0.8, -0.8)]), 1)],
    l_shape=[(_poly([(-0.7, -0.9), (-0.2, -0.9), (-0.2, 0.4), (0.7, 0.4), (0.7, 0.9),
                     (-0.7, 0.9)]), 1)],
    t_shape=[(_box(0.9, 0.25, 0, -0.65), 1), (_box(0.25, 0.9), 1)],
    h_shape=[(_box(0.25, 0.9, -0.65), 1), (_box(0.25, 0.9, 0.65), 1), (_box(0.9, 0.22), 1)],
    u_shape=[(_box(0.85, 0.85), 1), (_box(0.4, 0.6, 0, -0.3), 0)],
    s_shape=[(_box(0.6, 0.3, 0.3, -0.3), 1), (_box(0.6, 0.3, -0.3, 0.3), 1)],
    semicircle=[(np.concatenate([_arc(0, np.pi), [(-1, 0)]]) + (0, -0.4), 1)],
    pacman=[(np.concatenate([_arc(np.pi / 3, 5 * np.pi / 3), [(0, 0)]]), 1)],
    dumbbell=[(0.4 * _circle() + (-0.6, 0), 1), (0.4 * _circle() + (0.6, 0), 1),
              (_box(0.6, 0.12), 1)],
    three_dots=[(0.36 * _circle() + p, 1) for p in _regular(3, 0.62)],
    four_dots=[(0.3 * _circle() + p, 1) for p in _regular(4, 0.68, np.pi / 4)],
    window=[(_box(0.85, 0.85), 1)] + [(_box(0.28, 0.28, x, y), 0)
                                      for x in (-0.4, 0.4) for y in (-0.4, 0.4)],
    square_hole=[(_box(0.8, 0.8), 1), (0.45 * _circle(), 0)],
    gear=[(_gear(), 1), (0.3 * _circle(), 0)],
    flower=[(0.32 * _circle() + p, 1) for p in _regular(5, 0.68)] + [(0.4 * _circle(), 1)],
    bolt=[(_poly([(0.2, -1), (-0.55, 0.1), (-0.05, 0.1), (-0.25, 1), (0.55, -0.2),
                  (0.05, -0.2)]), 1)],
    bowtie=[(_poly([(-0.9, -0.8), (0, 0), (-0.9, 0.8)]), 1),
            (_poly([(0.9, -0.8), (0, 0), (0.9, 0.8)]), 1)],
    house=[(_poly([(-0.7, 0.9), (0.7, 0.9), (0.7, 0), (0, -0.9), (-0.7, 0)]), 1)],
    kite=[(_poly([(0, -1), (0.6, -0.3), (0, 1), (-0.6, -0.3)]), 1)],
    stairs=[(_poly([(-0.9, 0.9), (0.9, 0.9), (0.9, -0.9), (0.3, -0.9), (0.3, -0.3),
                    (-0.3, -0.3), (-0.3, 0.3), (-0.9, 0.3)]), 1)],
    crosshair=[(_circle(), 1), (0.8 * _circle(), 0), (_cross(0.1), 1)],
    equals=[(_box(0.9, 0.22, 0, -0.4), 1), (_box(0.9, 0.22, 0, 0.4), 1)])
# The toyscenes object shapes (drawn by synthetic.shape_mask), then the others.
TOYSCENES_SHAPES = tuple(CLASS_TEXTURES)
CLASSES = TOYSCENES_SHAPES + tuple(NEW_SHAPES)
TEXTURES = ('flat', 'marble', 'hatch', 'plaid', 'bricks', 'cells', 'clouds')


def class_mask(name, size, cx, cy, radius, angle, rng):
    """Boolean (size, size) mask of class ``name``'s shape centred at (cx, cy)."""
    if name in NEW_SHAPES:
        return polygon_mask(NEW_SHAPES[name], size, cx, cy, radius, angle)
    return shape_mask(name, size, cx, cy, radius, angle, rng)


def _stripes(u, v, angle, period, duty):
    along = u * np.cos(angle) + v * np.sin(angle)
    return (along % period < duty * period).astype(np.float32)


def pattern(name, size, rng):
    """A (size, size) pattern in [0, 1] of texture ``name``, random in scale,
    orientation and phase."""
    v, u = np.mgrid[0:size, 0:size].astype(np.float32)
    period = rng.uniform(0.08, 0.2) * size
    angle = rng.uniform(0, np.pi)
    if name == 'flat':
        return np.zeros((size, size), np.float32)
    if name == 'marble':
        along = u * np.cos(angle) + v * np.sin(angle)
        veins = np.sin(2 * np.pi * along / (2 * period) + 3 * _lowfreq(rng, size, 4))
        return (0.5 + 0.5 * veins).astype(np.float32)
    if name == 'hatch':
        return np.maximum(_stripes(u, v, angle, period, 0.2),
                          _stripes(u, v, angle + np.pi / 2, period, 0.2))
    if name == 'plaid':
        return 0.5 * (_stripes(u, v, angle, period, 0.5) +
                      _stripes(u, v, angle + np.pi / 2, 1.7 * period, 0.35))
    if name == 'bricks':
        height = 0.6 * period
        row = np.floor(v / height)
        x = u + 0.5 * period * (row % 2) + rng.uniform(0, period)
        mortar = (v % height < 0.18 * height) | (x % (1.6 * period) < 0.12 * period)
        return mortar.astype(np.float32)
    if name == 'cells':
        seeds = rng.uniform(0, size, (24, 2))
        dist = np.hypot(u[..., None] - seeds[:, 0], v[..., None] - seeds[:, 1]).min(-1)
        return np.clip(dist / period, 0, 1).astype(np.float32)
    if name == 'clouds':
        noise = _lowfreq(rng, size, 4) + 0.5 * _lowfreq(rng, size, 9)
        return np.clip(0.5 + 0.35 * noise, 0, 1).astype(np.float32)
    raise KeyError(f'unknown procedural imagenet texture {name!r}')


def _colours(rng, hue, value):
    """Two colours of a textured surface: a base colour of the given hue and
    value, and a lighter or darker partner."""
    base = _hsv(rng, ((hue, hue), (0.1, 0.85), (value, value)))
    partner = base * rng.uniform(0.35, 0.7)
    if rng.random() < 0.5:
        partner = base + (255 - base) * rng.uniform(0.35, 0.7)
    return base, partner


def _paint(img, rng, mask, hue, value):
    """Fill ``mask`` of ``img`` with a random texture in two colours."""
    tex = pattern(TEXTURES[rng.integers(len(TEXTURES))], img.shape[0], rng)
    c1, c2 = _colours(rng, hue, value)
    img[mask] = (c1 + tex[..., None] * (c2 - c1))[mask]


def _contrasting(rng, value):
    """A value at least 0.25 away from ``value`` in [0.15, 1]."""
    choices = [(lo, hi) for lo, hi in ((0.15, value - 0.25), (value + 0.25, 1.0)) if hi > lo]
    lo, hi = choices[rng.integers(len(choices))]
    return rng.uniform(lo, hi)


def _object(img, rng, name, radius, bg_hue, bg_value, margin):
    size = img.shape[0]
    cx, cy = rng.uniform(margin * radius, size - margin * radius, 2)
    mask = class_mask(name, size, cx, cy, radius, rng.uniform(0, 2 * np.pi), rng)
    hue = (bg_hue + rng.uniform(0.15, 0.85)) % 1
    _paint(img, rng, mask, hue, _contrasting(rng, bg_value))


def render_sample(seed, split, index, size=64):
    """Draw sample ``index`` of ``split``: an RGB uint8 (size, size, 3) image
    and its class index (``index % len(CLASSES)``)."""
    rng = np.random.default_rng([seed, _NAMESPACE, SPLITS.index(split), index])
    label = index % len(CLASSES)
    img = np.empty((size, size, 3), np.float32)
    bg_hue, bg_value = rng.uniform(0, 1), rng.uniform(0.2, 0.9)
    _paint(img, rng, np.ones((size, size), bool), bg_hue, bg_value)
    for _ in range(int(rng.choice(3, p=(0.5, 0.3, 0.2)))):
        other = CLASSES[(label + 1 + rng.integers(len(CLASSES) - 1)) % len(CLASSES)]
        _object(img, rng, other, rng.uniform(0.07, 0.12) * size, bg_hue, bg_value, 1.0)
    _object(img, rng, CLASSES[label], rng.uniform(0.26, 0.4) * size, bg_hue, bg_value, 0.85)
    light = 1 + rng.uniform(0, 0.25) * _lowfreq(rng, size, 2)[..., None]
    img = img * light + rng.normal(0, rng.uniform(0, 6), img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8), label


class ProceduralImageNet(Dataset):
    """Procedural ImageNet split, drawn on the fly.

    Args:
        split (str): 'train' or 'val' (held out: drawn from other generators).
        num_samples (int, optional): Length of the split. Defaults to
            ``DEFAULT_NUM_SAMPLES[split]``.
        seed (int): Global seed (>= 0). Defaults to 0.
        size (int): Image side in pixels. Defaults to 64.

    Items are ``(image, label)``: a uint8 RGB tensor (3, size, size) and an int.
    """
    CLASSES = CLASSES

    def __init__(self, split='train', num_samples=None, seed=0, size=64):
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        self.split, self.seed, self.size = split, seed, size
        self.num_samples = DEFAULT_NUM_SAMPLES[split] if num_samples is None else num_samples

    def __len__(self):
        return self.num_samples

    def __getitem__(self, index):
        if not 0 <= index < self.num_samples:
            raise IndexError(f'index {index} out of range for {self.num_samples} samples')
        img, label = render_sample(self.seed, self.split, index, self.size)
        return torch.from_numpy(img).permute(2, 0, 1).contiguous(), label
