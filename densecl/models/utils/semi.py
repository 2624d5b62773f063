"""Tensor helpers of the semi-supervised segmentors: CutMix, masked losses, pseudo-label choice."""
import torch
import torch.nn.functional as F


def cutmix(target, box, source=None):
    """``target`` with each image's ``box`` (B, H, W) pasted from the next image of ``source``.

    Image i takes the box region of image ``(i + 1) % B`` of ``source``
    (default: ``target`` itself). UniMatch mixes with a second unlabelled
    batch, another augmentation of the same images (its issue #51); its author
    reports that mixing a batch with a shuffled copy of itself performs the
    same (issue #34), which is what the batch's next image is. Works for
    (B, H, W) maps and (B, C, H, W) images alike.
    """
    source = (target if source is None else source).roll(-1, dims=0)
    mask = box if target.dim() == 3 else box[:, None]
    return torch.where(mask, source, target)


def class_mix_masks(labels, ignore_index=255):
    """ClassMix masks (Olsson et al., WACV 2021) as DACS (Tranheden et al., WACV 2021) mixes.

    For each (H, W) label map, ``ceil(n / 2)`` of its ``n`` classes (ignored
    pixels are no class) are drawn uniformly without replacement from
    torch's generator; the mask is True on every pixel of a drawn class. Mixed
    images and labels take the masked pixels from the labelled image.

    Args:
        labels (Tensor): (B, H, W) integer labels.

    Returns:
        Tensor: (B, H, W) bool.
    """
    masks = []
    for label_map in labels:
        classes = label_map.unique()
        classes = classes[classes != ignore_index]
        drawn = classes[torch.randperm(classes.numel(), device=classes.device)
                        [:(classes.numel() + 1) // 2]]
        masks.append(torch.isin(label_map, drawn))
    return torch.stack(masks)


def batch_class_mix_masks(labels):
    """ClassMix masks as the DAFormer-based releases (SePiCo, DAFormer) draw them.

    Unlike :func:`class_mix_masks`, the candidates are the label values of
    the whole batch (the ignore value included, as ``torch.unique(labels)``
    in those releases): for each (H, W) label map, ``ceil(n / 2)`` of the
    batch's ``n`` values are drawn uniformly without replacement from
    torch's generator, and the mask is True on the map's pixels of a drawn
    value. A map may thus paste fewer than half of its own classes, or none.

    Args:
        labels (Tensor): (B, H, W) integer labels.

    Returns:
        Tensor: (B, H, W) bool.
    """
    values = labels.unique()
    count = (values.numel() + 1) // 2
    return torch.stack([
        torch.isin(label_map, values[torch.randperm(values.numel(), device=values.device)[:count]])
        for label_map in labels])


def masked_cross_entropy(logits, labels, keep, valid):
    """CE summed over the ``keep`` pixels, divided by the number of ``valid`` pixels (UniMatch).

    Args:
        logits (Tensor): (B, C, H, W) predictions.
        labels (Tensor): (B, H, W) targets (any value where ``keep`` is False).
        keep (Tensor): (B, H, W) bool, pixels that are supervised.
        valid (Tensor): (B, H, W) bool, image pixels (not padding): the normaliser.
    """
    keep = keep & valid
    loss = F.cross_entropy(logits, labels.masked_fill(~keep, 0), reduction='none')
    return (loss * keep).sum() / valid.sum().clamp_min(1)


def class_aware_selection(probs, valid, high=0.92, scale=0.96):
    """DSSN's class-aware pseudo-label selection (Tian et al., ACM MM 2023).

    For image b and class c, ``m_bc = max_x p_c(x)`` over its valid pixels and
    ``t_bc = scale * m_bc`` if ``m_bc > high`` else ``m_bc``; a pixel whose
    predicted class is c is kept when ``p_c(x) > t_bc``. Classes that never
    reach ``high`` in an image therefore keep no pixel there.

    Args:
        probs (Tensor): (B, C, H, W) class probabilities.
        valid (Tensor): (B, H, W) bool, image pixels (not padding).

    Returns:
        Tensor: (B, H, W) bool, the kept pixels.
    """
    masked = probs.masked_fill(~valid[:, None], 0)
    peak = masked.flatten(2).max(2).values  # (B, C)
    threshold = torch.where(peak > high, scale * peak, peak)
    confidence, classes = probs.max(1)
    pixel_threshold = threshold.gather(1, classes.flatten(1)).view_as(confidence)
    return (confidence > pixel_threshold) & valid


def standardize(logits, eps=1e-6):
    """DSSN's n(): each pixel's logits standardised over classes with the unbiased std.

    ``(x - mean) / (std + eps)``, ``std`` with Bessel's correction (``torch.std``'s
    default, as DSSN's release; ``eps`` only guards constant logits).
    """
    mean = logits.mean(1, keepdim=True)
    return (logits - mean) / (logits.std(1, keepdim=True) + eps)
