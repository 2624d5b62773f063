"""Every densecl loss module refuses a loss_name that mmseg would leave out of the total."""
import pytest

import densecl  # noqa: F401
from densecl.losses import (OutlierEnergyLoss, PixelContrastLoss, PixelSupConLoss,
                            PrototypeContrastLoss, RPLInlierLoss, SePiCoContrastLoss)

LOSSES = {OutlierEnergyLoss: {}, PixelContrastLoss: {}, PixelSupConLoss: {},
          PrototypeContrastLoss: {'num_classes': 3, 'dim': 4}, RPLInlierLoss: {},
          SePiCoContrastLoss: {}}


@pytest.mark.parametrize('loss_type', list(LOSSES), ids=lambda t: t.__name__)
def test_loss_name_must_start_with_loss(loss_type):
    message = f"{loss_type.__name__}: loss_name must start with 'loss_'"
    with pytest.raises(ValueError, match=message):
        loss_type(**LOSSES[loss_type], loss_name='contrast')
    loss = loss_type(**LOSSES[loss_type], loss_weight=0.5, loss_name='loss_x')
    assert (loss.loss_name, loss.loss_weight) == ('loss_x', 0.5)
