# The closed-set segmenter RPL starts from: the pixel-contrast benchmark's
# DeepLabV3+ R18 (output stride 16, 1k iterations, AdamW), trained as usual
# (val mIoU), tested on ood_val with an anomaly map from its logits: the
# baselines (--cfg-options model.score=msp | max_logit | energy).
_base_ = [
    '../contrast/deeplabv3plus_r18-d16_1k_toyscenes-128x128.py',
    '../_base_/datasets/toyscenes_ood.py'
]
model = dict(type='AnomalyEncoderDecoder', score='msp')
test_dataloader = {{_base_.ood_test_dataloader}}
test_evaluator = {{_base_.ood_test_evaluator}}
