"""Per-pixel anomaly scores from segmentation logits (higher = more anomalous)."""
import torch
import torch.nn.functional as F

SCORES = ('msp', 'max_logit', 'energy')


def anomaly_score(logits, kind):
    """(B, H, W) anomaly scores of (B, K, H, W) ``logits``.

    'msp': minus the maximum softmax probability (Hendrycks & Gimpel, ICLR
    2017); 'max_logit': minus the maximum logit (Hendrycks et al., ICML
    2022); 'energy': minus logsumexp of the logits (Liu et al., NeurIPS 2020),
    RPL's score on its residual-corrected logits.
    """
    if kind == 'msp':
        return -logits.softmax(1).amax(1)
    if kind == 'max_logit':
        return -logits.amax(1)
    if kind == 'energy':
        return -logits.logsumexp(1)
    raise ValueError(f'anomaly score must be one of {SCORES}, got {kind!r}')


def gaussian_blur(maps, kernel_size=7, sigma=1.0):
    """(B, H, W) ``maps`` smoothed by a separable Gaussian, reflect padding (as torchvision)."""
    offsets = torch.arange(kernel_size, dtype=maps.dtype, device=maps.device) - kernel_size // 2
    weights = torch.exp(-offsets**2 / (2 * sigma**2))
    weights = weights / weights.sum()
    pad = kernel_size // 2
    x = F.pad(maps[:, None], (pad, pad, pad, pad), mode='reflect')
    x = F.conv2d(x, weights.view(1, 1, 1, -1))
    return F.conv2d(x, weights.view(1, 1, -1, 1))[:, 0]
