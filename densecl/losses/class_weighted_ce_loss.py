"""Class-weighted pixel cross-entropy as ``torch.nn.CrossEntropyLoss(weight, ignore_index)``.

ContrastiveSeg's release weights Cityscapes classes this way (its FSCELoss): the mean is over
the weights of the labelled pixels. mmseg's ``CrossEntropyLoss(class_weight=...)`` computes the
same on onedl-mmsegmentation, but mmseg 1.2.2 indexes the weights with the ignore label (255)
and fails on any label map that has void pixels, so the recipe configs use this loss.
"""
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS


@MODELS.register_module()
class ClassWeightedCrossEntropyLoss(torch.nn.Module):
    """Softmax cross-entropy with per-class weights, averaged over the labelled pixels' weights.

    Args:
        class_weight (list[float]): one weight per class.
        loss_weight (float): factor on the loss.
        loss_name (str): name in the log (mmseg's ``loss_`` prefix convention).
    """

    def __init__(self, class_weight, loss_weight=1.0, loss_name='loss_ce'):
        super().__init__()
        self.register_buffer('class_weight', torch.tensor(class_weight, dtype=torch.float32),
                             persistent=False)
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, cls_score, label, weight=None, ignore_index=255, **kwargs):
        if cls_score.shape[1] != len(self.class_weight):
            raise ValueError(f'ClassWeightedCrossEntropyLoss: {len(self.class_weight)} class '
                             f'weights for {cls_score.shape[1]} classes')
        return self.loss_weight * F.cross_entropy(cls_score, label, weight=self.class_weight,
                                                  ignore_index=ignore_index)

    @property
    def loss_name(self):
        return self._loss_name
