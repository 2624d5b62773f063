# SePiCo BankCL (use_bank True, memory_length 200; experiments.py id 2 for GTA5; README 59.8
# GTA5 / 57.4 SYNTHIA): the DistCL recipe against a bank of 200 centroids per class. Departures:
# the parent's.
_base_ = './deeplabv2_r101-d8_sepico-dist_2x2-40k_synthia-to-cityscapes-640x640.py'
model = dict(contrast_loss=dict(
    _delete_=True, type='SePiCoContrastLoss', mode='bank', temperature=100., reg_weight=1.0,
    loss_weight=1.0))
