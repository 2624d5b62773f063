# PixPro and PixContrast together (Xie et al., CVPR 2021), equal weights.
_base_ = './pixpro_r18-d16_800_toyscenes-96x96.py'
model = dict(pixpro_weight=1.0, pixcontrast_weight=1.0)
