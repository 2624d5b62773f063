# PixPro and PixContrast together (Xie et al., CVPR 2021), equal weights.
_base_ = './pixpro_r18-d16_300_toyscenes-64x64.py'
model = dict(pixpro_weight=1.0, pixcontrast_weight=1.0)
