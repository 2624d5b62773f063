"""Alignment and uniformity (Wang and Isola, ICML 2020) of dense features.

Alignment is measured on the positive pixel pairs of two views (the pixels
showing the same place of the image, from the crop geometry); uniformity
over every pixel of the batch. Lower is better for both.
"""
import math

import torch.nn.functional as F

from densecl.ops import pixel_logsumexp


def _pixels(features):
    """(B, L, D) L2-normalised pixel features of (B, D, H, W) maps."""
    return F.normalize(features.flatten(2), dim=1).transpose(1, 2)


def dense_alignment(features_a, features_b, positive, alpha=2):
    """``E ||f_i - f'_j||^alpha`` over the positive pairs (i, j), features L2-normalised.

    Args:
        features_a (Tensor): (B, D, H, W) features of view a.
        features_b (Tensor): (B, D, H', W') features of view b.
        positive (Tensor): (B, H*W, H'*W') bool positive pairs.
        alpha (float): exponent (2 in Wang and Isola).

    Raises:
        ValueError: when there is no positive pair.
    """
    batch, left, right = positive.nonzero(as_tuple=True)
    if batch.numel() == 0:
        raise ValueError('dense_alignment needs at least one positive pixel pair')
    difference = _pixels(features_a)[batch, left] - _pixels(features_b)[batch, right]
    return difference.norm(dim=1).pow(alpha).mean()


def dense_uniformity(features, t=2.0):
    """``log E_{i != j} exp(-t ||f_i - f_j||^2)`` over all pixels of the batch, L2-normalised.

    With unit vectors ``||f_i - f_j||^2 = 2 - 2 f_i.f_j``, so this is
    ``-2t + log sum_i sum_{j != i} exp(2t f_i.f_j) - log(N (N - 1))``: the
    inner sums are :func:`densecl.ops.pixel_logsumexp` at temperature
    1 / (2t), without the (N, N) matrix.

    Args:
        features (Tensor): (B, D, H, W) feature maps, at least 2 pixels in all.
        t (float): > 0 (2 in Wang and Isola).
    """
    pixels = _pixels(features).reshape(-1, features.shape[1])
    count = pixels.shape[0]
    if count < 2:
        raise ValueError(f'dense_uniformity needs at least 2 pixels, got {count}')
    row_lse = pixel_logsumexp(pixels, temperature=1 / (2 * t))
    return row_lse.logsumexp(0) - math.log(count * (count - 1)) - 2 * t
