"""CoroCLLoss: the four pools, min(max_views, smallest pool) pixels from each, and the
released loss against hand-written formulas."""
import math

import pytest
import torch
import torch.nn.functional as F

import densecl.losses.named_loss as named_loss
from densecl.losses import CoroCLLoss

IGNORE = 255


def batch(sizes, dim=4, side=40):
    """One scene and one context image whose pools hold ``sizes`` = (scene inliers, scene
    outliers, context inliers, context outliers) pixels; the rest ignored. Each pixel's
    embedding starts with its (image, row, col) so it can be traced."""
    labels = torch.full((2, side, side), IGNORE)
    for image, (inliers, outliers) in enumerate((sizes[:2], sizes[2:])):
        flat = labels[image].view(-1)
        flat[:inliers] = 0
        flat[inliers:inliers + outliers] = 1
    grid = torch.stack(torch.meshgrid(torch.arange(2), torch.arange(side), torch.arange(side),
                                      indexing='ij')).float()
    embeddings = torch.cat([grid.transpose(0, 1), torch.randn(2, dim - 3, side, side)], 1)
    return embeddings, labels, torch.tensor([False, True])


@pytest.mark.parametrize('sizes, count', [((700, 600, 900, 530), 512),
                                          ((700, 37, 900, 530), 37),
                                          ((20, 30, 40, 50), 20)])
def test_each_pool_gives_min_of_max_views_and_the_smallest_pool(sizes, count):
    embeddings, labels, context = batch(sizes)
    anchors, anchor_labels, keys, key_labels = CoroCLLoss(max_views=512).select(
        embeddings, labels, context)
    assert anchors.shape[0] == 2 * count and keys.shape[0] == 2 * count
    for rows, kinds, image in ((anchors, anchor_labels, 0), (keys, key_labels, 1)):
        assert (rows[:, 0] == image).all()  # scene pools anchor, context pools are keys
        assert kinds.tolist().count(0) == count and kinds.tolist().count(1) == count
        where = rows[:, :3].long()
        assert (labels[where[:, 0], where[:, 1], where[:, 2]] == kinds).all()
        assert len({tuple(r) for r in where.tolist()}) == 2 * count  # no pixel twice


def test_all_pixels_option_keeps_every_pool_pixel():
    embeddings, labels, context = batch((70, 6, 90, 53))
    anchors, anchor_labels, keys, key_labels = CoroCLLoss(max_views=None).select(
        embeddings, labels, context)
    assert anchor_labels.tolist().count(0) == 70 and anchor_labels.tolist().count(1) == 6
    assert key_labels.tolist().count(0) == 90 and key_labels.tolist().count(1) == 53


def released_loss(anchors, anchor_labels, keys, key_labels, temperature):
    """The released CoroCL loss written out: anchors against [anchors, keys], a positive
    (same label, not itself) against the negatives, averaged over positives and anchors."""
    contrast = torch.cat([anchors, keys]).tolist()
    contrast_labels = torch.cat([anchor_labels, key_labels]).tolist()
    total = 0.0
    for i, (a, label) in enumerate(zip(anchors.tolist(), anchor_labels.tolist())):
        s = [sum(x * y for x, y in zip(a, k)) / temperature for k in contrast]
        negatives = sum(math.exp(s[j]) for j, other in enumerate(contrast_labels)
                        if other != label)
        positives = [j for j, other in enumerate(contrast_labels) if other == label and j != i]
        total += -sum(math.log(math.exp(s[p]) / (math.exp(s[p]) + negatives))
                      for p in positives) / len(positives)
    return total / len(anchors)


def test_one_pixel_per_pool_by_hand():
    # pools of one pixel each: scene inlier, scene outlier, context inlier, context outlier
    z = F.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [0.8, -0.6]]), dim=1)
    embeddings = torch.zeros(2, 2, 1, 2)
    embeddings[0, :, 0, 0], embeddings[0, :, 0, 1] = z[0], z[1]
    embeddings[1, :, 0, 0], embeddings[1, :, 0, 1] = z[2], z[3]
    labels = torch.tensor([[[0, 1]], [[0, 1]]])
    loss = CoroCLLoss(temperature=0.5, loss_weight=2.0)(embeddings, labels,
                                                        torch.tensor([False, True]))
    s = lambda i, j: float(z[i] @ z[j]) / 0.5  # noqa: E731
    # scene inlier 0: positive context inlier 2; negatives scene outlier 1, context outlier 3
    inlier = -math.log(math.exp(s(0, 2)) / (math.exp(s(0, 2)) + math.exp(s(0, 1))
                                            + math.exp(s(0, 3))))
    outlier = -math.log(math.exp(s(1, 3)) / (math.exp(s(1, 3)) + math.exp(s(1, 0))
                                             + math.exp(s(1, 2))))
    assert loss.item() == pytest.approx(2.0 * (inlier + outlier) / 2, rel=1e-5)


@pytest.mark.parametrize('max_views', [3, None])
def test_loss_is_the_released_formula_on_the_selected_pixels(max_views):
    torch.manual_seed(0)
    embeddings, labels, context = batch((5, 4, 6, 3), dim=6, side=4)
    embeddings = F.normalize(embeddings[:, 3:], dim=1)  # drop the tracing coordinates
    loss = CoroCLLoss(temperature=0.1, max_views=max_views)
    torch.manual_seed(1)
    value = loss(embeddings, labels, context)
    torch.manual_seed(1)  # the same draw
    expected = released_loss(*loss.select(embeddings, labels, context), temperature=0.1)
    assert value.item() == pytest.approx(expected, rel=1e-4)


def test_an_empty_pool_gives_zero_with_a_graph_and_warns_once_with_the_counts(monkeypatch):
    logged = []
    monkeypatch.setattr(named_loss, 'print_log', lambda msg, **kw: logged.append(msg))
    embeddings, labels, context = batch((30, 0, 20, 10))
    embeddings.requires_grad_(True)
    loss = CoroCLLoss()
    value = loss(embeddings, labels, context)
    value.backward()
    assert value.item() == 0 and embeddings.grad.abs().sum() == 0
    loss(embeddings, labels, context)
    assert len(logged) == 1 and '[30, 0, 20, 10] pixels' in logged[0]
    assert 'loss_corocl' in logged[0]
