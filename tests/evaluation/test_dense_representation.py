"""Dense alignment and uniformity against Wang and Isola's formulas written out."""
import math

import pytest
import torch
import torch.nn.functional as F

from densecl.evaluation import dense_alignment, dense_uniformity


def test_alignment_averages_squared_distances_of_positive_pairs():
    a = torch.zeros(1, 2, 1, 2)
    a[0, 0, 0, 0] = 3.  # pixel 0 -> (1, 0) once normalised
    a[0, 1, 0, 1] = 1.  # pixel 1 -> (0, 1)
    b = torch.zeros(1, 2, 1, 2)
    b[0, 0, 0, :] = 1.  # both pixels (1, 0)
    positive = torch.tensor([[[True, False], [True, True]]])
    # pairs (0,0): 0, (1,0): 2, (1,1): 2 -> mean 4/3
    assert float(dense_alignment(a, b, positive)) == pytest.approx(4 / 3)
    with pytest.raises(ValueError, match='positive'):
        dense_alignment(a, b, torch.zeros_like(positive))


def test_uniformity_matches_the_pairwise_mean():
    torch.manual_seed(0)
    features = torch.randn(2, 5, 3, 3)
    pixels = F.normalize(features.flatten(2), dim=1).transpose(1, 2).reshape(-1, 5)
    distances = torch.cdist(pixels, pixels).pow(2)
    off_diagonal = ~torch.eye(18, dtype=torch.bool)
    expected = math.log(torch.exp(-2 * distances[off_diagonal]).mean())
    assert float(dense_uniformity(features)) == pytest.approx(expected, abs=1e-5)
    # all pixels equal: distances 0, uniformity log 1 = 0, the worst value
    assert float(dense_uniformity(torch.ones(1, 3, 2, 2))) == pytest.approx(0, abs=1e-6)
