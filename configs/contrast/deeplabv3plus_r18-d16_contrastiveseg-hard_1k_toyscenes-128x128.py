# DeepLabV3+ R18 + ContrastiveSeg as released without memory (H_48_D_4): hard/easy
# anchors sampled from the decode head's prediction (shared by
# PredictionSharingEncoderDecoder) and contrasted with each other, T 0.1, T_base
# 0.07, loss weight 0.1; max_views scaled to the 16 x 16 embedding (3, not 100).
_base_ = [
    './deeplabv3plus_r18-d16_1k_toyscenes-128x128.py', '../_base_/heads/contrast_r18.py'
]
model = dict(
    type='PredictionSharingEncoderDecoder',
    auxiliary_head=[{{_base_.model.auxiliary_head}}, {{_base_.contrastiveseg_hard_head}}])
