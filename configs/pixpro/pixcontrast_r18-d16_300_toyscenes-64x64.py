# PixContrast (Xie et al., CVPR 2021; described, never released): pixel InfoNCE with
# positives from the crop geometry and every other pixel of the batch as negatives.
_base_ = './pixpro_r18-d16_300_toyscenes-64x64.py'
model = dict(propagation=None, pixpro_weight=0.0, pixcontrast_weight=1.0)
