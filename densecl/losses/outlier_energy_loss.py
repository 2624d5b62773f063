"""RPL's outlier loss (Liu et al., "Residual Pattern Learning for Pixel-wise
Out-of-Distribution Detection in Semantic Segmentation", ICCV 2023)."""
from mmseg.registry import MODELS

from .named_loss import NamedLoss


@MODELS.register_module()
class OutlierEnergyLoss(NamedLoss):
    """Push outlier pixels' logsumexp below a margin (their energy above minus it).

    ``loss_weight * mean over mask pixels of ReLU(logsumexp(logits) - margin)``
    with RPL's ``loss_weight=0.05`` and ``margin=0``.

    Args:
        margin (float): logsumexp below which an outlier pixel costs nothing.
        loss_weight (float): multiplier of the loss.
        loss_name (str): key in the log; starts with 'loss_'.
    """

    def __init__(self, margin=0.0, loss_weight=0.05, loss_name='loss_outlier'):
        super().__init__(loss_weight, loss_name)
        self.margin = margin

    def forward(self, logits, mask):
        """``logits``: (B, K, H, W); ``mask``: (B, H, W) bool outliers; 0 if empty."""
        if not mask.any():
            return logits.sum() * 0
        energy_gap = (logits.logsumexp(1)[mask] - self.margin).relu()
        return self.loss_weight * energy_gap.mean()
