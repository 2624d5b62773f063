# DeepLabV3+ R18 + ContrastiveSeg as released with memory (Wang et al., ICCV 2021;
# H_48_D_4_MEM): one hard/easy anchor per (image, class), sampled from the decode
# head's prediction (shared by PredictionSharingEncoderDecoder), contrasted with
# the pixel and segment queues only, T = T_base = 0.07, loss weight 1.
_base_ = [
    './deeplabv3plus_r18-d16_1k_toyscenes-128x128.py', '../_base_/heads/contrast_r18.py'
]
model = dict(
    type='PredictionSharingEncoderDecoder',
    auxiliary_head=[{{_base_.model.auxiliary_head}}, {{_base_.contrastiveseg_mem_head}}])
