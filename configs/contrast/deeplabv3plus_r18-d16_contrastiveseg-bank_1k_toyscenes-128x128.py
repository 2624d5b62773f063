# DeepLabV3+ R18 + ContrastiveSeg over all labelled pixels, with pixel and
# segment memory banks (auxiliary ContrastHead).
_base_ = [
    './deeplabv3plus_r18-d16_1k_toyscenes-128x128.py', '../_base_/heads/contrast_r18.py'
]
model = dict(auxiliary_head=[{{_base_.model.auxiliary_head}}, {{_base_.contrastiveseg_head}}])
