"""Majority label downscaling (SePiCo's 75% rule) and ClassMix on hand-built maps."""
import torch

from densecl.models.utils import class_mix_masks, downsample_labels


def test_majority_downscaling_ignores_cells_below_75_percent():
    labels = torch.tensor([[
        [1, 1, 2, 2, 3, 3],
        [1, 1, 2, 5, 3, 255],
        [0, 0, 4, 4, 6, 6],
        [0, 1, 4, 7, 6, 7],
    ]])
    # 2 x 2 cells: (1 x4) 100%; (2, 2, 2, 5) 75% kept; (3, 3, 3, 255) 75% kept;
    # (0, 0, 0, 1) 75%; (4, 4, 4, 7) 75%; (6, 6, 6, 7) 75%
    out = downsample_labels(labels, (2, 3), 'majority', 8, 255, 0.75)
    assert out.tolist() == [[[1, 2, 3], [0, 4, 6]]]
    labels[0, 3, 0] = 2  # (0, 0, 2, 1): 50% -> ignored
    labels[0, 1, 5] = 7  # (3, 3, 3, 7) stays 75%
    out = downsample_labels(labels, (2, 3), 'majority', 8, 255, 0.75)
    assert out.tolist() == [[[1, 2, 3], [255, 4, 6]]]


def test_class_mix_takes_whole_classes_and_labels_follow_the_mask():
    torch.manual_seed(0)
    source = torch.tensor([[[0, 0, 1, 1], [2, 2, 3, 255], [4, 4, 3, 3]],
                           [[5, 5, 5, 5], [5, 5, 5, 5], [6, 6, 6, 6]]])
    pseudo = torch.full_like(source, 7)
    images_source = source[:, None].float().expand(-1, 3, -1, -1)
    images_target = -torch.ones_like(images_source)
    for _ in range(10):
        masks = class_mix_masks(source)
        mixed_labels = torch.where(masks, source, pseudo)
        mixed_images = torch.where(masks[:, None], images_source, images_target)
        for b in range(2):
            classes = source[b][source[b] != 255].unique()
            chosen = source[b][masks[b]].unique()
            assert len(chosen) == (len(classes) + 1) // 2  # ceil(n / 2) classes
            for c in classes:  # every pixel of a class is in or out together
                assert masks[b][source[b] == c].unique().numel() == 1
            assert not masks[b][source[b] == 255].any()
            # labels and images both come from the source exactly where the mask is
            assert torch.equal(mixed_labels[b][masks[b]], source[b][masks[b]])
            assert (mixed_labels[b][~masks[b]] == 7).all()
            assert torch.equal(mixed_images[b][:, masks[b]] >= 0,
                               torch.ones_like(mixed_images[b][:, masks[b]], dtype=torch.bool))
            assert (mixed_images[b][:, ~masks[b]] == -1).all()
