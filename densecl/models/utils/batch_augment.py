"""Batch colour jitter and blur of DACS (Tranheden et al., WACV 2021), the strong transform
DAFormer and SePiCo apply to whole training batches inside the model step."""
import math

import torch

from .anomaly_score import gaussian_blur

# RGB -> YIQ: a hue shift is a rotation of the (I, Q) chroma plane
YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def rotate_hue(images, turns):
    """(B, 3, H, W) RGB ``images`` with their hue rotated by (B,) ``turns`` of the colour wheel."""
    yiq = YIQ.to(images)
    angle = 2 * math.pi * turns
    rotation = torch.zeros(len(turns), 3, 3, dtype=images.dtype, device=images.device)
    rotation[:, 0, 0] = 1
    rotation[:, 1, 1], rotation[:, 1, 2] = angle.cos(), -angle.sin()
    rotation[:, 2, 1], rotation[:, 2, 2] = angle.sin(), angle.cos()
    return torch.einsum('bij,bjhw->bihw', torch.linalg.inv(yiq) @ rotation @ yiq, images)


def color_jitter(images, strength):
    """DACS's colour jitter of (B, 3, H, W) RGB ``images`` in [0, 1], factors drawn per image.

    Brightness, contrast and saturation factors from ``[1 - s, 1 + s]`` and a
    hue shift from ``[-s, s]`` turns, applied in one random order, clamped to
    [0, 1] after each (kornia's ``ColorJitter(s, s, s, s)`` in the releases).
    """
    def factors(low, high):
        return torch.empty(len(images), 1, 1, 1, device=images.device).uniform_(low, high)

    for op in torch.randperm(4).tolist():
        gray = torch.einsum('c,bchw->bhw', YIQ[0].to(images), images)[:, None]
        if op == 0:  # brightness
            images = images * factors(1 - strength, 1 + strength)
        elif op == 1:  # contrast: blend with the mean grey level
            mean = gray.mean((2, 3), keepdim=True)
            images = mean + factors(1 - strength, 1 + strength) * (images - mean)
        elif op == 2:  # saturation: blend with the grey image
            images = gray + factors(1 - strength, 1 + strength) * (images - gray)
        else:
            images = rotate_hue(images, factors(-strength, strength).flatten())
        images = images.clamp(0, 1)
    return images


def dacs_blur(images, sigma_range=(0.15, 1.15)):
    """DACS's Gaussian blur: one sigma from ``sigma_range``, an odd kernel of about a tenth of
    the image height (square crops: the releases size each axis by its own length)."""
    size = math.ceil(0.1 * images.shape[2])
    size = size if size % 2 else size - 1
    sigma = torch.empty(()).uniform_(*sigma_range).item()
    return gaussian_blur(images.flatten(0, 1), size, sigma).view_as(images)
