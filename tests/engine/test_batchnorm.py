"""recalibrate_batchnorm (AdaBN) against BatchNorm statistics computed by hand."""
import copy

import pytest
import torch
from torch import nn

from densecl.engine import recalibrate_batchnorm


class TinySegmentor(nn.Module):
    """conv-BN-ReLU-conv-BN, called like mmseg's segmentors in tensor mode."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4, momentum=0.3)
        self.conv2 = nn.Conv2d(4, 5, 1)
        self.bn2 = nn.BatchNorm2d(5)

    def forward(self, inputs, mode='tensor'):
        assert mode == 'tensor'
        return self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(inputs)))))


def batch_stats(x):
    """Per-channel mean and unbiased variance of an (N, C, H, W) batch."""
    flat = x.transpose(0, 1).flatten(1)
    return flat.mean(1), flat.var(1, unbiased=True)


def test_running_statistics_are_the_batch_averages_of_hand_computed_ones():
    torch.manual_seed(0)
    seg = TinySegmentor().double().eval()
    with torch.no_grad():
        seg.bn1.weight.uniform_(0.5, 2)
        seg.bn1.bias.uniform_(-1, 1)
    weights = copy.deepcopy({k: v for k, v in seg.state_dict().items() if 'running' not in k
                             and 'num_batches' not in k})
    batches = [torch.randn(3, 3, 6, 5, dtype=torch.float64) * 2 + 1 for _ in range(4)]

    expected = {name: [] for name in ('bn1', 'bn2')}
    with torch.no_grad():
        for x in batches:
            h = seg.conv1(x)
            expected['bn1'].append(batch_stats(h))
            mean, var = h.mean((0, 2, 3), keepdim=True), h.var((0, 2, 3), unbiased=False,
                                                               keepdim=True)
            normed = (h - mean) / torch.sqrt(var + seg.bn1.eps)  # train mode: batch statistics
            normed = normed * seg.bn1.weight[:, None, None] + seg.bn1.bias[:, None, None]
            expected['bn2'].append(batch_stats(seg.conv2(torch.relu(normed))))

    assert recalibrate_batchnorm([seg], iter(batches)) == 4
    for name in ('bn1', 'bn2'):
        bn = getattr(seg, name)
        means, variances = zip(*expected[name])
        torch.testing.assert_close(bn.running_mean, torch.stack(means).mean(0))
        torch.testing.assert_close(bn.running_var, torch.stack(variances).mean(0))
    for key, value in weights.items():  # weights untouched
        torch.testing.assert_close(seg.state_dict()[key], value)
    assert not seg.training and not seg.bn1.training  # modes and momenta restored
    assert seg.bn1.momentum == 0.3 and seg.bn2.momentum == 0.1


def test_every_segmentor_is_recalibrated_and_modes_are_kept():
    student, teacher = TinySegmentor().train(), TinySegmentor().eval()
    batch = torch.randn(4, 3, 5, 5) + 3
    recalibrate_batchnorm([student, teacher], [batch])
    for seg in (student, teacher):
        torch.testing.assert_close(seg.bn1.running_mean, batch_stats(seg.conv1(batch))[0])
    assert student.training and student.bn1.training and not teacher.bn2.training


def test_bad_input_leaves_statistics_alone():
    seg = TinySegmentor()
    before = seg.bn1.running_mean.clone().add_(1)
    seg.bn1.running_mean.copy_(before)
    with pytest.raises(ValueError, match='no batches'):
        recalibrate_batchnorm([seg], [])
    torch.testing.assert_close(seg.bn1.running_mean, before)
    with pytest.raises(ValueError, match='no BatchNorm layer'):
        recalibrate_batchnorm([nn.Conv2d(3, 3, 1)], [torch.randn(2, 3, 4, 4)])
