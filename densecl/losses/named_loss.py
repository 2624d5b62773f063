"""What every densecl loss module shares with mmseg's: a weight and a loss_ key."""
import logging

import torch.nn as nn
from mmengine.logging import print_log


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
        self._warned = False

    @property
    def loss_name(self):
        return self._loss_name

    def warn_once(self, message):
        """Log ``message`` as a warning the first time only (e.g. a batch without anchors)."""
        if not self._warned:
            self._warned = True
            print_log(f'{type(self).__name__} ({self.loss_name}): {message}', logger='current',
                      level=logging.WARNING)
