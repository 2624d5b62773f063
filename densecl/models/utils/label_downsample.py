"""Label maps brought to the resolution of a feature map."""
import torch
import torch.nn.functional as F

MODES = ('nearest', 'majority')


def downsample_labels(labels, size, mode='nearest', num_classes=None, ignore_index=255,
                      purity=0.5):
    """(B, H, W) integer labels at ``size`` = (h, w).

    'nearest' samples one label per cell, as ContrastiveSeg (Wang et al. 2021)
    does. 'majority' gives each cell the class covering most of its area, and
    ``ignore_index`` when that class covers less than ``purity`` of the cell,
    so that embeddings of cells that straddle a boundary are not contrasted.

    Args:
        labels (Tensor): (B, H, W) integer labels in [0, num_classes) or ignore_index.
        size (tuple[int, int]): target (h, w).
        mode (str): 'nearest' or 'majority'.
        num_classes (int): number of classes; needed by 'majority'.
        ignore_index (int): label of unlabelled pixels.
        purity (float): minimum area fraction of the majority class, in (0, 1].
    """
    if mode not in MODES:
        raise ValueError(f'label downsampling mode must be one of {MODES}, got {mode!r}')
    size = tuple(size)
    if mode == 'nearest':
        return F.interpolate(labels[:, None].float(), size, mode='nearest')[:, 0].long()
    if num_classes is None:
        raise ValueError("'majority' label downsampling needs num_classes")
    best_fraction = labels.new_zeros(labels.shape[0], *size, dtype=torch.float32)
    best_class = labels.new_full((labels.shape[0], *size), ignore_index, dtype=torch.long)
    for c in range(num_classes):
        # adaptive pooling splits H x W into h x w cells, as the features do.
        fraction = F.adaptive_avg_pool2d((labels == c)[:, None].float(), size)[:, 0]
        better = fraction > best_fraction
        best_fraction = torch.where(better, fraction, best_fraction)
        best_class = torch.where(better, c, best_class)
    return best_class.masked_fill(best_fraction < purity, ignore_index)
