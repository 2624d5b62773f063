# SePiCo ProtoCL (Xie et al., TPAMI 2023) on the self-training row: the student's decoder
# features are projected (two 1x1 ConvModules, L2 norm) and contrasted, on source pixels
# (labels) and target pixels (teacher pseudo-labels), with the class means of the EMA
# teacher's source projections (labels downscaled by majority, cells < 75% pure ignored).
# Temperature 100 as released (a divisor: see SePiCoContrastLoss).
_base_ = './deeplabv3plus_r18-d16_self-training_1k_toyscenes-source2target-128x128.py'
model = dict(
    segmentor=dict(
        auxiliary_head=dict(type='SePiCoProjectionHead', in_channels=128, channels=128)),
    contrast_loss=dict(
        type='SePiCoContrastLoss', mode='proto', temperature=100., reg_weight=0.,
        loss_weight=1.0),
    purity=0.75,
    bank_length=200,
    contrast_start_iter=0)
