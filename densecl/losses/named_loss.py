"""What every densecl loss module shares with mmseg's: a weight and a loss_ key."""
import torch.nn as nn


class NamedLoss(nn.Module):
    """An mmseg-style loss module: ``loss_weight`` scales it, ``loss_name`` keys it in the
    log and, because it starts with 'loss_', adds it to the total loss."""

    def __init__(self, loss_weight=1.0, loss_name='loss_contrast'):
        super().__init__()
        if not loss_name.startswith('loss_'):
            raise ValueError(f"{type(self).__name__}: loss_name must start with 'loss_' to be "
                             f'added to the total loss, got {loss_name!r}')
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self):
        return self._loss_name
