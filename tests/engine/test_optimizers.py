"""LARS, as PixPro's release steps it, from hand-computed updates."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import densecl  # noqa: F401  (registers LARS)
from densecl.engine import LARS


def weight_and_bias():
    weight = torch.nn.Parameter(torch.tensor([[3.0, 4.0]]))  # norm 5
    bias = torch.nn.Parameter(torch.tensor([2.0]))
    return weight, bias


def test_two_steps_match_the_hand_computed_update():
    """Decay then trust ratio on weights, neither on biases, then momentum SGD."""
    weight, bias = weight_and_bias()
    optimizer = LARS([weight, bias], lr=1.0, momentum=0.9, weight_decay=0.1)
    weight.grad = torch.tensor([[0.6, 0.8]])
    bias.grad = torch.tensor([0.5])
    optimizer.step()
    # g + 0.1 w = (0.9, 1.2), norm 1.5; ratio 1e-3 * 5 / 1.5 -> (0.003, 0.004)
    assert torch.allclose(weight, torch.tensor([[2.997, 3.996]]))
    assert torch.allclose(bias, torch.tensor([1.5]))
    weight.grad = torch.zeros(1, 2)
    bias.grad = torch.tensor([0.0])
    optimizer.step()
    # g = 0.1 w = (0.2997, 0.3996), |w| / |g| = 10 -> 1e-2 * g; buffer 0.9 * (0.003, 0.004) + it
    step = 0.9 * torch.tensor([[0.003, 0.004]]) + 1e-2 * torch.tensor([[0.2997, 0.3996]])
    expected = torch.tensor([[2.997, 3.996]]) - step
    assert torch.allclose(weight, expected)
    assert torch.allclose(bias, torch.tensor([1.5 - 0.9 * 0.5]))


def test_zero_norms_leave_the_gradient_unscaled_and_1d_can_be_included():
    """A zero weight keeps its raw gradient; exclude_1d=False scales biases too."""
    weight = torch.nn.Parameter(torch.zeros(2, 2))
    bias = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    optimizer = LARS([weight, bias], lr=0.5, momentum=0.0, exclude_1d=False)
    weight.grad = torch.ones(2, 2)
    bias.grad = torch.tensor([6.0, 8.0])  # norm 10; ratio 1e-3 * 5 / 10
    optimizer.step()
    assert torch.allclose(weight, torch.full((2, 2), -0.5))
    assert torch.allclose(bias, torch.tensor([3.0 - 0.5 * 3e-3, 4.0 - 0.5 * 4e-3]))


def test_builds_from_an_optim_wrapper_config_and_refuses_negative_settings():
    """optim_wrapper=dict(optimizer=dict(type='LARS', ...)) builds in mmseg's scope."""
    init_default_scope('mmseg')
    model = torch.nn.Linear(2, 1)
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='LARS', lr=0.3,
                                                             weight_decay=1e-5)))
    assert isinstance(wrapper.optimizer, LARS)
    assert wrapper.optimizer.param_groups[0]['trust_coef'] == 1e-3
    with pytest.raises(ValueError, match='LARS: weight_decay must be >= 0, got -1'):
        LARS(model.parameters(), lr=0.1, weight_decay=-1)
