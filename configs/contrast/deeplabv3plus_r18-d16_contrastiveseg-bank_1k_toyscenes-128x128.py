# DeepLabV3+ R18 + densecl's earlier ContrastiveSeg option: every labelled pixel
# (exact, no sampling) contrasted with the other pixels and the pixel and segment
# memory banks, T 0.1, T_base 0.07, loss weight 0.1.
_base_ = [
    './deeplabv3plus_r18-d16_1k_toyscenes-128x128.py', '../_base_/heads/contrast_r18.py'
]
model = dict(
    auxiliary_head=[{{_base_.model.auxiliary_head}}, {{_base_.contrastiveseg_bank_head}}])
