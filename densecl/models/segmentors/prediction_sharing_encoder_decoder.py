"""EncoderDecoder that shows its decode head's training prediction to auxiliary heads."""
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import add_prefix


@MODELS.register_module()
class PredictionSharingEncoderDecoder(EncoderDecoder):
    """:class:`EncoderDecoder` whose auxiliary heads see the decode head's logits.

    mmseg calls auxiliary heads with the backbone features only. Losses that
    sample anchors by the segmenter's mistakes (ContrastiveSeg's hard
    sampler) need its prediction: running the decode head again inside the
    auxiliary head would double its cost and see other dropout masks, so the
    training forward stores the detached logits in each data sample's
    ``seg_logits``, the field mmseg uses for logits at inference. Everything
    else is :class:`EncoderDecoder`.
    """

    def _decode_head_forward_train(self, inputs, data_samples):
        seg_logits = self.decode_head.forward(inputs)
        losses = self.decode_head.loss_by_feat(seg_logits, data_samples)
        for sample, logits in zip(data_samples, seg_logits.detach()):
            sample.seg_logits = PixelData(data=logits)
        return add_prefix(losses, 'decode')
