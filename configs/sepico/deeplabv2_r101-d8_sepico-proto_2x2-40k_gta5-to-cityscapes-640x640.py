# SePiCo ProtoCL (use_dist False, use_bank False; experiments.py id 3 for GTA5; README 58.8 GTA5
# / 56.8 SYNTHIA): the DistCL recipe with class means only. Departures: the parent's.
_base_ = './deeplabv2_r101-d8_sepico-dist_2x2-40k_gta5-to-cityscapes-640x640.py'
model = dict(contrast_loss=dict(
    _delete_=True, type='SePiCoContrastLoss', mode='proto', temperature=100., reg_weight=1.0,
    loss_weight=1.0))
