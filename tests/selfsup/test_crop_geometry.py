"""PixPro's positive pixel pairs from crop boxes and flips, against hand-built cases."""
import numpy as np
import pytest
import torch
from mmseg.structures import SegDataSample

from densecl.models.utils import bin_centres, positive_pixel_pairs, view_positive_pairs
from densecl.models.utils.crop_geometry import pixel_centre_boxes

BOX = torch.tensor([[0.1, 0.2, 0.7, 0.8]])


def pairs(box_a, flip_a, box_b, flip_b, size=(4, 4)):
    return positive_pixel_pairs(box_a, torch.tensor([flip_a]), size, box_b,
                                torch.tensor([flip_b]), size)[0]


def test_identical_unflipped_crops_pair_each_pixel_with_itself():
    assert torch.equal(pairs(BOX, False, BOX, False), torch.eye(16, dtype=torch.bool))


def test_a_flipped_copy_pairs_each_pixel_with_its_mirror():
    # pixel (r, c) of the plain view shows what pixel (r, 3 - c) of the flipped one shows
    mirror = torch.zeros(16, 16, dtype=torch.bool)
    for r in range(4):
        for c in range(4):
            mirror[r * 4 + c, r * 4 + 3 - c] = True
    assert torch.equal(pairs(BOX, False, BOX, True), mirror)
    assert torch.equal(pairs(BOX, True, BOX, True), torch.eye(16, dtype=torch.bool))


def test_shifted_crops_pair_only_overlapping_bins():
    # view b is view a moved right by two bins (0.15 each): column c of a is column c - 2 of b
    box_b = BOX + torch.tensor([[0.3, 0., 0.3, 0.]])
    expected = torch.zeros(16, 16, dtype=torch.bool)
    for r in range(4):
        for c in (2, 3):
            expected[r * 4 + c, r * 4 + c - 2] = True
    assert torch.equal(pairs(BOX, False, box_b, False), expected)


def test_neighbours_are_0_707_bin_diagonals_apart():
    # square bins: a horizontal or vertical neighbour is 1 / sqrt(2) diagonals away
    flips = torch.tensor([False])
    loose = positive_pixel_pairs(BOX, flips, (4, 4), BOX, flips, (4, 4), threshold=0.71)[0]
    assert loose[5].nonzero().flatten().tolist() == [1, 4, 5, 6, 9]


def two_view_samples(boxes_a, boxes_b, ori_shape):
    sample = SegDataSample()
    sample.set_metainfo({'crop_boxes': np.array([boxes_a, boxes_b], np.float32),
                         'flips': np.array([False, False]), 'ori_shape': ori_shape})
    return [sample]


def test_release_crop_boxes_span_first_to_last_pixel_centre():
    # pixels 2..5 of 8 (edges 2/8, 6/8) -> centres 2/7 and 5/7; full height stays [0, 1]
    boxes = torch.tensor([[0.25, 0., 0.75, 1.]])
    expected = torch.tensor([[2 / 7, 0., 5 / 7, 1.]])
    torch.testing.assert_close(pixel_centre_boxes(boxes, torch.tensor([[8, 8]])), expected)


def test_a_7x7_map_has_the_released_bin_centres():
    # PixPro's 7 x 7 map. Image 225 x 225 (W - 1 = 224), crop x in [16, 129), y in [32, 89):
    # released box (16, 32, 128, 88) / 224, bins 16 / 224 wide and 8 / 224 high, so
    # centres x = (24 + 16 c) / 224, y = (36 + 8 r) / 224, diagonal hypot(16, 8) / 224
    edges = torch.tensor([[16 / 225, 32 / 225, 129 / 225, 89 / 225]])
    boxes = pixel_centre_boxes(edges, torch.tensor([[225, 225]]))
    centres, diagonal = bin_centres(boxes, torch.tensor([False]), 7, 7)
    rows, cols = torch.meshgrid(torch.arange(7.), torch.arange(7.), indexing='ij')
    expected = torch.stack([24 + 16 * cols, 36 + 8 * rows], -1).reshape(1, 49, 2) / 224
    torch.testing.assert_close(centres, expected)
    torch.testing.assert_close(diagonal, torch.tensor([5 ** 0.5 * 8 / 224]))


def test_release_and_edge_coordinates_disagree_on_one_pair_at_0_7():
    # 5 x 5 image, 2 x 2 maps. View a: the whole image, bins 0.5 wide, diagonal 0.5 sqrt 2.
    # View b: pixel columns 0..1, full height.
    #   released: b spans x in [0, 1/4], column centres 1/16, 3/16
    #   edges:    b spans x in [0, 2/5], column centres 1/10, 3/10
    # a's right column (x 3/4) to b's right column, same row, in a's diagonals:
    #   released (3/4 - 3/16) / (0.5 sqrt 2) = 0.795 -> negative
    #   edges    (3/4 - 3/10) / (0.5 sqrt 2) = 0.636 -> positive
    # a's left column (x 1/4) pairs with both b columns either way (at most 0.265);
    # different rows are 0.5 apart, 0.707 diagonals: never positive.
    samples = two_view_samples((0., 0., 1., 1.), (0., 0., 0.4, 1.), (5, 5))
    released = torch.zeros(4, 4, dtype=torch.bool)
    for row in (0, 1):
        released[2 * row, 2 * row] = released[2 * row, 2 * row + 1] = True
    edges = released.clone()
    edges[1, 1] = edges[3, 3] = True
    assert torch.equal(view_positive_pairs(samples, (2, 2), (2, 2))[0], released)
    assert torch.equal(
        view_positive_pairs(samples, (2, 2), (2, 2), crop_coords='pixel_edges')[0], edges)


def test_release_coordinates_need_the_image_shape():
    samples = two_view_samples((0., 0., 1., 1.), (0., 0., 0.4, 1.), None)
    with pytest.raises(ValueError, match='ori_shape'):
        view_positive_pairs(samples, (2, 2), (2, 2))
    with pytest.raises(ValueError, match='crop_coords must be one of'):
        view_positive_pairs(samples, (2, 2), (2, 2), crop_coords='pixel')
