"""mmengine averaged models that the releases of semi-supervised methods use as teachers."""
from mmengine.model import ExponentialMovingAverage
from mmseg.registry import MODELS


@MODELS.register_module()
class MeanTeacherEMA(ExponentialMovingAverage):
    """EMA whose decay warms up as in Mean Teacher (Tarvainen & Valpola, 2017).

    The teacher's ``t``-th update after ``t`` student steps (mmengine's
    ``steps``) uses ``decay = min(1 - 1 / t, 1 - momentum)``: a copy at the
    first, the average of the students so far until the decay reaches
    ``1 - momentum``. CSS's release (Wang et al., ICCV 2023) updates after
    optimiser step ``s`` (from 0) with ``min(1 - 1 / (s + 1), 0.99)``, the
    same sequence.
    """

    def avg_func(self, averaged_param, source_param, steps):
        averaged_param.lerp_(source_param, max(self.momentum, 1 / int(steps)))
