"""LARS, the large-batch optimiser of PixPro's pretraining, for mmengine's optim_wrapper.

mmengine has no LARS (mmpretrain's is not a dependency). PixPro's release wraps SGD: weights
(parameters of more than one dimension) get the weight decay added to their gradient and then
the layer-wise trust ratio; biases and BatchNorm parameters get neither; momentum SGD follows.
"""
import torch
from mmseg.registry import OPTIMIZERS


@OPTIMIZERS.register_module()
class LARS(torch.optim.Optimizer):
    """SGD with layer-wise adaptive rate scaling (You et al., 2017, arXiv 1708.03888).

    For a weight ``w`` with gradient ``g``: ``g <- g + weight_decay * w``, then
    ``g <- trust_coef * |w| / (|g| + eps) * g`` (unchanged when a norm is 0); then
    ``buf <- momentum * buf + g`` and ``w <- w - lr * buf``. One-dimensional parameters
    (biases, norms) skip the decay and the scaling when ``exclude_1d``, as PixPro's
    ``add_weight_decay`` groups them.

    Args:
        params: parameters or parameter groups.
        lr (float): learning rate (PixPro: base lr x batch / 256).
        momentum (float): SGD momentum.
        weight_decay (float): decay of the scaled parameters.
        trust_coef (float): LARS trust coefficient.
        eps (float): added to the gradient norm.
        exclude_1d (bool): leave one-dimensional parameters out of decay and scaling.
    """

    def __init__(self, params, lr, momentum=0.9, weight_decay=0.0, trust_coef=1e-3, eps=1e-8,
                 exclude_1d=True):
        for name, value in dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                trust_coef=trust_coef, eps=eps).items():
            if value < 0:
                raise ValueError(f'LARS: {name} must be >= 0, got {value}')
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      trust_coef=trust_coef, eps=eps, exclude_1d=exclude_1d))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group['params']:
                if param.grad is None:
                    continue
                grad = param.grad
                if not (group['exclude_1d'] and param.dim() <= 1):
                    grad = grad.add(param, alpha=group['weight_decay'])
                    param_norm, grad_norm = param.norm(), grad.norm()
                    if param_norm > 0 and grad_norm > 0:
                        grad = grad * (group['trust_coef'] * param_norm
                                       / (grad_norm + group['eps']))
                state = self.state[param]
                if 'momentum_buffer' not in state:
                    state['momentum_buffer'] = grad.clone()
                else:
                    state['momentum_buffer'].mul_(group['momentum']).add_(grad)
                param.add_(state['momentum_buffer'], alpha=-group['lr'])
        return loss
