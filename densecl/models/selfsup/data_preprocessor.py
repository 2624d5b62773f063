"""Normalise the two views packed by PackTwoViewInputs into two batches."""
import torch
from mmengine.model import ImgDataPreprocessor
from mmseg.registry import MODELS


@MODELS.register_module()
class TwoViewDataPreprocessor(ImgDataPreprocessor):
    """mmengine's ImgDataPreprocessor run on each view of :class:`PackTwoViewInputs`.

    Takes samples whose ``inputs`` are (2, C, H, W) and returns ``inputs``
    as a list of two (B, C, H, W) float batches, view 0 then view 1, with the
    data samples (crop boxes, flips) unchanged. Arguments are those of
    ImgDataPreprocessor (mean, std, bgr_to_rgb, pad_size_divisor, ...).
    """

    def forward(self, data, training=False):
        inputs = data['inputs']
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs)
        for sample in inputs:
            if not isinstance(sample, torch.Tensor) or sample.dim() != 4 or sample.shape[0] != 2:
                shape = tuple(sample.shape) if isinstance(sample, torch.Tensor) else type(sample)
                raise ValueError('TwoViewDataPreprocessor needs inputs of shape (2, C, H, W) '
                                 f'from PackTwoViewInputs, got {shape}')
        views = [
            super(TwoViewDataPreprocessor, self).forward(
                dict(inputs=[sample[view] for sample in inputs]), training)['inputs']
            for view in range(2)
        ]
        return dict(inputs=views, data_samples=self.cast_data(data.get('data_samples')))
