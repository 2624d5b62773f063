"""Label maps downsampled to the embedding size, on hand-built maps."""
import pytest
import torch

from densecl.models.utils import downsample_labels

I = 255  # noqa: E741  (ignore index)

# 4 x 4 map, four 2 x 2 cells:
# top-left all 1; top-right three 2 and one 0; bottom-left two 0 and two 3;
# bottom-right three ignored and one 1.
LABELS = torch.tensor([[[1, 1, 2, 2],
                        [1, 1, 0, 2],
                        [0, 3, I, I],
                        [0, 3, 1, I]]])


def test_nearest_takes_the_top_left_pixel_of_each_cell():
    got = downsample_labels(LABELS, (2, 2), 'nearest')
    assert got.tolist() == [[[1, 2], [0, I]]]


def test_majority_keeps_pure_enough_cells_only():
    got = downsample_labels(LABELS, (2, 2), 'majority', num_classes=4, purity=0.5)
    # tie 0/3 at 0.5 each: the lower class wins; 1 covers 1/4 of the last cell.
    assert got.tolist() == [[[1, 2], [0, I]]]
    strict = downsample_labels(LABELS, (2, 2), 'majority', num_classes=4, purity=0.8)
    assert strict.tolist() == [[[1, I], [I, I]]]


def test_majority_on_uneven_cells_and_identity_size():
    assert torch.equal(downsample_labels(LABELS, (4, 4), 'majority', num_classes=4,
                                         purity=1.0), LABELS)
    got = downsample_labels(LABELS, (1, 2), 'majority', num_classes=4, purity=0.3)
    # left half: 1 x4, 0 x2, 3 x2 -> 1 (0.5); right half: 2 x3, 0, 1, ignore x3 -> 2 (0.375)
    assert got.tolist() == [[[1, 2]]]


def test_bad_mode_and_missing_classes_are_named():
    with pytest.raises(ValueError, match='bilinear'):
        downsample_labels(LABELS, (2, 2), 'bilinear')
    with pytest.raises(ValueError, match='num_classes'):
        downsample_labels(LABELS, (2, 2), 'majority')
