"""ContrastiveSeg's hard anchor sampler (Wang et al., ICCV 2021, sec. 3.4).

The released runs keep at most ``max_samples`` anchors per batch and
``max_views`` per (image, class): 100 without memory, 1 with it. The
``sampling=None`` losses contrast every labelled pixel instead.
"""
import torch


def _hard_easy_split(n_view, num_hard, num_easy):
    """How many hard and easy pixels to keep: half each, the rest from the other kind."""
    half = n_view // 2
    if num_hard >= half and num_easy >= n_view - half:
        return half, n_view - half
    if num_hard >= half:
        return n_view - num_easy, num_easy
    return num_hard, n_view - num_hard


def _random_subset(index, count):
    return index[torch.randperm(index.numel(), device=index.device)[:count]]


def hard_anchor_sampling(embeddings, labels, predictions, max_samples=1024, max_views=100,
                         ignore_index=255):
    """Anchors of every (image, class) pair with more than ``max_views`` pixels.

    Each pair gets ``n_view = min(max_samples // pairs, max_views)`` anchors,
    half hard (predicted class != label) and half easy, topped up from the
    other kind when one runs short; a single view (``max_views=1``, the
    released memory run) is an easy pixel whenever the pair has one.

    Args:
        embeddings (Tensor): (B, D, h, w) pixel embeddings.
        labels (Tensor): (B, h, w) labels at the embedding resolution.
        predictions (Tensor): (B, h, w) predicted classes at that resolution.

    Returns:
        tuple[Tensor, Tensor]: (A, D) anchors and their (A,) labels; A may be 0.
    """
    feats = embeddings.flatten(2).transpose(1, 2)
    labels, predictions = labels.flatten(1), predictions.flatten(1)
    pairs = []
    for image in range(labels.shape[0]):
        classes, counts = labels[image].unique(return_counts=True)
        keep = (classes != ignore_index) & (counts > max_views)
        pairs += [(image, c) for c in classes[keep].tolist()]
    if not pairs:
        return feats.new_zeros(0, feats.shape[2]), labels.new_zeros(0)
    n_view = min(max_samples // len(pairs), max_views)
    anchors = []
    for image, c in pairs:
        of_class = labels[image] == c
        hard = (of_class & (predictions[image] != c)).nonzero()[:, 0]
        easy = (of_class & (predictions[image] == c)).nonzero()[:, 0]
        num_hard, num_easy = _hard_easy_split(n_view, hard.numel(), easy.numel())
        anchors.append(torch.cat([_random_subset(hard, num_hard), _random_subset(easy, num_easy)]))
    index = torch.cat(anchors)
    image_of = torch.cat([torch.full((len(a),), image, device=index.device)
                          for a, (image, _) in zip(anchors, pairs)])
    return feats[image_of, index], labels[image_of, index]
