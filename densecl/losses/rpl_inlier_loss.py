"""RPL's inlier loss (Liu et al., "Residual Pattern Learning for Pixel-wise
Out-of-Distribution Detection in Semantic Segmentation", ICCV 2023)."""
import torch.nn.functional as F
from mmseg.registry import MODELS

from .named_loss import NamedLoss


def _entropy(logits):
    log_p = logits.log_softmax(1)
    return -(log_p.exp() * log_p).sum(1)


@MODELS.register_module()
class RPLInlierLoss(NamedLoss):
    """Keep the residual-corrected logits' decisions and confidence on inlier pixels.

    ``CE(out2, argmax out1) + entropy_weight * MSE(H(softmax out2), H(softmax
    out1))`` averaged over the ``mask`` pixels, where ``out1`` are the frozen
    closed-set logits and ``out2`` the logits with RPL's residual: the
    residual may not change the closed-set prediction of inliers.

    Args:
        entropy_weight (float): weight of the entropy term (1 in RPL).
        loss_weight (float): multiplier of the loss.
        loss_name (str): key in the log; starts with 'loss_'.
    """

    def __init__(self, entropy_weight=1.0, loss_weight=1.0, loss_name='loss_inlier'):
        super().__init__(loss_weight, loss_name)
        self.entropy_weight = entropy_weight

    def forward(self, out2, out1, mask):
        """``out2``, ``out1``: (B, K, H, W) logits; ``mask``: (B, H, W) bool; 0 if empty."""
        if not mask.any():
            return out2.sum() * 0
        out1 = out1.detach()
        ce = F.cross_entropy(out2, out1.argmax(1), reduction='none')[mask].mean()
        mse = F.mse_loss(_entropy(out2)[mask], _entropy(out1)[mask])
        return self.loss_weight * (ce + self.entropy_weight * mse)
