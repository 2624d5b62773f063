"""EncoderDecoder that predicts a pixel-wise anomaly map next to the segmentation."""
import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS

from ..utils import SCORES, anomaly_score, gaussian_blur


@MODELS.register_module()
class AnomalyEncoderDecoder(EncoderDecoder):
    """:class:`EncoderDecoder` whose predictions carry ``pred_anomaly_map`` (PixelData).

    The anomaly map is a score of the logits (higher = more anomalous),
    optionally Gaussian-blurred as RPL (Liu et al., ICCV 2023) post-processes
    its energy; with a closed-set checkpoint it gives the usual baselines
    (max softmax probability, max logit, energy), evaluated by ``OoDMetric``.
    Training is :class:`EncoderDecoder`'s, so a plain segmenter's
    checkpoint loads unchanged. Only ``test_cfg.mode='whole'`` inference.

    Args:
        score (str): 'msp', 'max_logit' or 'energy'.
        blur (dict | None): ``dict(kernel_size, sigma)`` of the Gaussian blur
            of the anomaly map (7 and 1 in RPL), None for none.
    """

    def __init__(self, score='energy', blur=dict(kernel_size=7, sigma=1.0), **kwargs):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(f'{type(self).__name__}: score must be one of {SCORES}, '
                             f'got {score!r}')
        self.score = score
        self.blur = blur

    def score_logits(self, inputs, batch_img_metas):
        """(segmentation logits, logits scored for anomalies), both at the input size."""
        logits = self.encode_decode(inputs, batch_img_metas)
        return logits, logits

    def inference(self, inputs, batch_img_metas):
        """Segmentation logits with the anomaly map as one more channel (split in
        :meth:`postprocess_result`, so it is cropped, flipped back and resized alike)."""
        mode = self.test_cfg.get('mode', 'whole')
        if mode != 'whole':
            raise NotImplementedError(f"{type(self).__name__} supports test_cfg mode='whole' "
                                      f'only, got {mode!r}')
        seg_logits, scored = self.score_logits(inputs, batch_img_metas)
        anomaly = anomaly_score(scored, self.score)
        if self.blur:
            anomaly = gaussian_blur(anomaly, **self.blur)
        return torch.cat([seg_logits, anomaly[:, None]], dim=1)

    def postprocess_result(self, seg_logits, data_samples=None):
        samples = super().postprocess_result(seg_logits, data_samples)
        for sample in samples:
            logits = sample.seg_logits.data
            sample.seg_logits = PixelData(data=logits[:-1])
            sample.pred_sem_seg = PixelData(data=logits[:-1].argmax(0, keepdim=True))
            sample.pred_anomaly_map = PixelData(data=logits[-1:])
        return samples
