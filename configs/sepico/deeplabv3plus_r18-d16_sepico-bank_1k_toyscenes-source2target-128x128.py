# SePiCo BankCL: each pixel against the last 200 per-batch source centroids of every class
# (positives: its class's entries; one negative per other class, the mean of its entries).
_base_ = './deeplabv3plus_r18-d16_sepico-proto_1k_toyscenes-source2target-128x128.py'
model = dict(contrast_loss=dict(mode='bank'))
