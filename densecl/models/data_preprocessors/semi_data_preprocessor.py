"""Normalise and batch mixed labelled / unlabelled samples."""
import torch
import torch.nn.functional as F
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample


@MODELS.register_module()
class SemiDataPreProcessor(SegDataPreProcessor):
    """:class:`SegDataPreProcessor` that also batches :class:`PackSemiInputs` samples.

    In training, samples whose ``inputs`` are (1 + V, C, H, W) view stacks
    are unlabelled; each view is normalised and padded to ``size`` like the
    labelled images, and the model gets an extra ``unlabeled`` argument::

        dict(weak=(B, C, H, W), strong=[V x (B, C, H, W)],
             cutmix_box=[V x (B, H, W) bool], valid=(B, H, W) bool, data_samples=[...])

    ``valid`` is False on the padding (outside each sample's ``img_shape``).
    Validation and test batches, and batches without unlabelled samples, are
    processed as by the parent. Args are those of SegDataPreProcessor.
    """

    def forward(self, data, training=False):
        if not training:
            return super().forward(data, training)
        data = self.cast_data(data)
        inputs, samples = data['inputs'], data['data_samples']
        unlabeled = [i for i, x in enumerate(inputs) if x.dim() == 4]
        labeled = [i for i, x in enumerate(inputs) if x.dim() == 3]
        batch = super().forward(dict(inputs=[inputs[i] for i in labeled],
                                     data_samples=[samples[i] for i in labeled]), True)
        if unlabeled:
            batch['unlabeled'] = self._unlabeled_batch([inputs[i] for i in unlabeled],
                                                       [samples[i] for i in unlabeled])
        return batch

    def _unlabeled_batch(self, stacks, samples):
        num_views = stacks[0].shape[0]
        views = [view for stack in stacks for view in stack]
        padded = super().forward(dict(inputs=views, data_samples=[SegDataSample() for _ in views]),
                                 True)['inputs']
        padded = padded.view(len(stacks), num_views, *padded.shape[1:])
        height, width = padded.shape[-2:]
        valid = padded.new_zeros(len(stacks), height, width, dtype=torch.bool)
        boxes = []
        for i, sample in enumerate(samples):
            h, w = sample.img_shape
            valid[i, :h, :w] = True
            box = sample.cutmix_box.data.bool()
            boxes.append(F.pad(box, (0, width - box.shape[-1], 0, height - box.shape[-2])))
        boxes = torch.stack(boxes)
        return dict(weak=padded[:, 0], strong=list(padded[:, 1:].unbind(1)),
                    cutmix_box=list(boxes.unbind(1)), valid=valid, data_samples=samples)
