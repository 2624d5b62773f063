# DeepLabV3+ R18 + ContrastiveSeg as released: hard/easy anchor sampling from
# the decode head's prediction (shared by PredictionSharingEncoderDecoder),
# with pixel and segment memory banks.
_base_ = [
    './deeplabv3plus_r18-d16_1k_toyscenes-128x128.py', '../_base_/heads/contrast_r18.py'
]
model = dict(
    type='PredictionSharingEncoderDecoder',
    auxiliary_head=[{{_base_.model.auxiliary_head}}, {{_base_.contrastiveseg_hard_head}}])
