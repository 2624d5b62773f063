"""DeepLabV2's classifier head: the sum of its dilated branches."""
import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

import densecl  # noqa: F401  (registers the head)


def test_logits_are_the_sum_of_the_dilated_convolutions():
    """Each branch is a 3x3 conv of its dilation with bias, to the classes; the head sums them."""
    head = MODELS.build(dict(type='DeepLabV2Head', in_channels=8, in_index=3, num_classes=5,
                             dilations=(1, 2, 3)))
    head.init_weights()
    x = torch.randn(2, 8, 9, 11)
    expected = sum(
        F.conv2d(x, branch.conv.weight, branch.conv.bias, padding=0 if d == 1 else d, dilation=d)
        for d, branch in zip((1, 2, 3), head.aspp_modules))
    assert head.aspp_modules[0].conv.kernel_size == (1, 1)
    assert head.aspp_modules[2].conv.weight.shape == (5, 8, 3, 3)
    out = head([None, None, None, x])
    assert out.shape == (2, 5, 9, 11) and torch.allclose(out, expected, atol=1e-6)
    assert not hasattr(head, 'conv_seg')


def test_release_init_and_fixed_settings():
    """Weights start N(0, 0.01) as released; channels / norm / dropout cannot be set."""
    torch.manual_seed(0)
    head = MODELS.build(dict(type='DeepLabV2Head', in_channels=256, num_classes=19))
    head.init_weights()
    weights = torch.cat([branch.conv.weight.flatten() for branch in head.aspp_modules])
    assert abs(weights.std().item() - 0.01) < 1e-3
    with pytest.raises(ValueError, match=r"\['channels', 'norm_cfg'\] cannot be set"):
        MODELS.build(dict(type='DeepLabV2Head', in_channels=8, num_classes=5, channels=4,
                          norm_cfg=dict(type='BN')))
