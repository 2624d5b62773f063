# SePiCo ProtoCL (Xie et al., TPAMI 2023) on the self-training row, as released: the backbone's
# last stage (C5, as the released DeepLab-v2 ResNet models) is projected (two 1x1 ConvModules,
# L2 norm) and contrasted, on the jittered source (labels) and the jittered target (teacher
# pseudo-labels, weight-0 pixels ignored), with the class means of the train-mode EMA teacher's
# projections of the plain source (labels downscaled by majority, cells < 75% pure ignored).
# Temperature 100 and the regulariser (weight 1) as released (see SePiCoContrastLoss). The
# contrast starts at 7.5% of the schedule: the release's 3000 of 40k iterations.
_base_ = './deeplabv3plus_r18-d16_self-training_1k_toyscenes-source2target-128x128.py'
model = dict(
    segmentor=dict(
        auxiliary_head=dict(type='SePiCoProjectionHead', in_channels=512, in_index=3,
                            channels=128)),
    contrast_loss=dict(
        type='SePiCoContrastLoss', mode='proto', temperature=100., reg_weight=1.0,
        loss_weight=1.0),
    purity=0.75,
    bank_length=200,
    contrast_features='backbone',
    contrast_start_iter=75)
