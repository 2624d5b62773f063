"""The loss modules against the dense formulas of densecl.ops.reference."""
import pytest
import torch
import torch.nn.functional as F

from densecl.losses import PixelContrastLoss, PixelSupConLoss
from densecl.ops import reference


def embeddings_and_labels(seed=0, batch=2, dim=8, size=4, num_classes=3):
    gen = torch.Generator().manual_seed(seed)
    z = F.normalize(torch.randn(batch, dim, size, size, generator=gen, dtype=torch.float64), dim=1)
    labels = torch.randint(0, num_classes, (batch, size, size), generator=gen)
    labels[0, 0, :2] = 255
    return z.requires_grad_(), labels


def flat(z, labels):
    return z.permute(0, 2, 3, 1).reshape(-1, z.shape[1]), labels.flatten()


@pytest.mark.parametrize('cls,expected', [
    (PixelSupConLoss, lambda z, y: reference.supcon_loss(z, y, 0.1, 255, None, None, 'mean')),
    (PixelContrastLoss, lambda z, y: reference.pixel_contrast_loss(
        z, y, 0.1, 0.07, 255, None, None, 'mean')),
])
def test_all_pixel_loss_is_the_dense_formula_times_the_weight(cls, expected):
    z, labels = embeddings_and_labels()
    loss = cls(loss_weight=0.3)(z, labels)
    torch.testing.assert_close(loss, 0.3 * expected(*flat(z, labels)))


def test_memory_is_filled_after_the_step_and_used_as_extra_keys():
    # memory_only=False: densecl's earlier option, the anchors key each other too
    z, labels = embeddings_and_labels(dim=4)
    loss = PixelContrastLoss(memory=dict(num_classes=3, dim=4, length=50, pixels_per_class=2),
                             memory_only=False)
    loss.double()
    first = loss(z, labels)
    torch.testing.assert_close(
        first, reference.pixel_contrast_loss(*flat(z, labels), 0.1, 0.07, 255, None, None,
                                             'mean'))
    # segment bank: the normalised mean of each class in each image
    for image in range(2):
        for c in labels[image].unique().tolist():
            if c == 255:
                continue
            mean = F.normalize(z[image].detach().flatten(1)[:, labels[image].flatten() == c]
                               .mean(1), dim=0)
            stored = loss.segment_bank.bank[c, :loss.segment_bank.filled[c]]
            assert torch.isclose(stored, mean).all(1).any()
    pixel_count = sum(min(2, int((labels[i] == c).sum())) for i in range(2) for c in range(3))
    assert int(loss.pixel_bank.filled.sum()) == pixel_count
    extra = torch.cat([loss.pixel_bank.entries()[0], loss.segment_bank.entries()[0]])
    extra_labels = torch.cat([loss.pixel_bank.entries()[1], loss.segment_bank.entries()[1]])
    second = loss(z, labels)
    torch.testing.assert_close(second, reference.pixel_contrast_loss(
        *flat(z, labels), 0.1, 0.07, 255, extra, extra_labels, 'mean'))


def test_all_ignored_gives_zero_loss_and_zero_gradient():
    z, labels = embeddings_and_labels()
    for cls in (PixelSupConLoss, PixelContrastLoss):
        loss = cls()(z, torch.full_like(labels, 255))
        loss.backward()
        assert loss.item() == 0 and torch.isfinite(z.grad).all() and z.grad.abs().sum() == 0
        z.grad = None


def test_hard_sampling_without_predictions_and_bad_arguments_are_named():
    z, labels = embeddings_and_labels()
    with pytest.raises(ValueError, match='PredictionSharingEncoderDecoder'):
        PixelContrastLoss(sampling='hard')(z, labels)
    with pytest.raises(ValueError, match='sampling'):
        PixelContrastLoss(sampling='random')
    with pytest.raises(ValueError, match="loss_name"):
        PixelSupConLoss(loss_name='contrast')
