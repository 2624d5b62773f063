# SePiCo DistCL: ProtoCL with each class a Gaussian (running mean and diagonal variance of the
# teacher's source projections), the upper bound of the expected CE.
_base_ = './deeplabv3plus_r18-d16_sepico-proto_1k_toyscenes-source2target-128x128.py'
model = dict(contrast_loss=dict(mode='dist', var_ratio=1.0))
