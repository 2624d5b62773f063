"""PixPro's positive pixel pairs from crop boxes and flips, against hand-built cases."""
import torch

from densecl.models.utils import positive_pixel_pairs

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
