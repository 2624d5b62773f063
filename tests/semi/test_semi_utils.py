"""Pseudo-label selection, standardisation, CutMix and the CSS contrast kernel, by hand
(CSS as released: tests/semi/test_css_release.py)."""
import math

import pytest
import torch
import torch.nn.functional as F

from densecl import ops
from densecl.models.segmentors.css_segmentor import max_prototype_confidence
from densecl.models.utils import class_aware_selection, cutmix, masked_cross_entropy, standardize


def test_class_aware_selection_on_a_hand_built_map():
    # one image, 2 x 3 pixels, 3 classes; the last column is padding.
    probs = torch.tensor([[[0.95, 0.93, 0.99],    # class 0: peak 0.95 > 0.92 -> t = 0.912
                           [0.05, 0.02, 0.00]],
                          [[0.03, 0.05, 0.01],    # class 1: peak 0.90 <= 0.92 -> t = 0.90
                           [0.90, 0.89, 0.00]],
                          [[0.02, 0.02, 0.00],    # class 2: never predicted
                           [0.05, 0.09, 1.00]]])[None]
    valid = torch.tensor([[True, True, False], [True, True, False]])[None]
    keep = class_aware_selection(probs, valid, high=0.92, scale=0.96)
    # class 0 pixels 0.95, 0.93 > 0.912 kept; class 1 pixel 0.90 is not > 0.90; padding never.
    expected = torch.tensor([[True, True, False], [False, False, False]])[None]
    assert torch.equal(keep, expected)


def test_standardize_per_pixel_over_classes_with_the_unbiased_std():
    # DSSN's release divides by torch.std: Bessel's correction, 4 - 1 degrees of freedom.
    logits = torch.tensor([1.0, 2.0, 3.0, 6.0]).view(1, 4, 1, 1)
    mean, std = 3.0, math.sqrt(((1 - 3) ** 2 + 1 + 0 + 9) / 3)
    expected = torch.tensor([(1 - mean) / std, (2 - mean) / std, 0.0, (6 - mean) / std])
    torch.testing.assert_close(standardize(logits).flatten(), expected, atol=1e-5, rtol=0)


def test_cutmix_pastes_labels_with_the_image():
    images = torch.stack([torch.full((3, 4, 4), 10.), torch.full((3, 4, 4), 20.)])
    labels = torch.tensor([1, 2]).view(2, 1, 1).expand(2, 4, 4)
    box = torch.zeros(2, 4, 4, dtype=torch.bool)
    box[0, 1:3, 0:2] = True
    mixed_images, mixed_labels = cutmix(images, box), cutmix(labels, box)
    inside = box[0]
    assert (mixed_images[0][:, inside] == 20).all() and (mixed_labels[0][inside] == 2).all()
    assert (mixed_images[0][:, ~inside] == 10).all() and (mixed_labels[0][~inside] == 1).all()
    assert torch.equal(mixed_images[1], images[1]) and torch.equal(mixed_labels[1], labels[1])


def test_masked_cross_entropy_divides_by_image_pixels():
    logits = torch.zeros(1, 2, 1, 4)
    labels = torch.zeros(1, 1, 4, dtype=torch.long)
    keep = torch.tensor([[[True, False, True, True]]])
    valid = torch.tensor([[[True, True, True, False]]])
    # kept image pixels: 0 and 2, each CE log 2; normaliser: 3 image pixels
    assert masked_cross_entropy(logits, labels, keep, valid).item() == pytest.approx(
        2 * math.log(2) / 3)


@pytest.mark.parametrize('backend', ['tiled', 'reference'])
def test_prototype_contrast_loss_by_hand(backend):
    z = torch.tensor([[1., 0.], [0., 1.], [0.6, 0.8]], requires_grad=True)
    labels = torch.tensor([0, 1, 255])
    protos = torch.tensor([[0.8, 0.6], [0., 1.]])
    loss = ops.prototype_contrast_loss(z, labels, protos, 0.5, z.detach(), labels,
                                       backend=backend)
    # anchor 0: positive cos 0.8, one negative (pixel 1) cos 0; anchor 1: 1.0 vs 0.
    expected = (F.softplus(torch.tensor(0 / 0.5 - 0.8 / 0.5))
                + F.softplus(torch.tensor(0 / 0.5 - 1.0 / 0.5))) / 2
    torch.testing.assert_close(loss, expected)


def test_prototype_contrast_tiled_matches_reference_with_gradients():
    generator = torch.Generator().manual_seed(0)
    z = F.normalize(torch.randn(40, 6, generator=generator, dtype=torch.float64), dim=1)
    labels = torch.randint(0, 4, (40,), generator=generator)
    labels[::7] = 255
    protos = F.normalize(torch.randn(4, 6, generator=generator, dtype=torch.float64), dim=1)
    grads = []
    for backend in ('tiled', 'reference'):
        anchors = z.clone().requires_grad_()
        loss = ops.prototype_contrast_loss(anchors, labels, protos, 0.5, z, labels,
                                           backend=backend)
        grads.append((loss, torch.autograd.grad(loss, anchors)[0]))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[0][1], grads[1][1])


def test_reachable_representation_confidence():
    # The numbers: tau_r 0.5 with 21 classes caps q at 0.73.
    assert max_prototype_confidence(21, 0.5) == pytest.approx(0.732, abs=1e-3)
    assert max_prototype_confidence(8, 0.1) > 0.999
