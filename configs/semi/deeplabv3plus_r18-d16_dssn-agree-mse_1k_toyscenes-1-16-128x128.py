# DSSN with densecl's option of Siamese MSEs on matching pixels only: the strong-view MSE
# over image pixels where both views' CutMix boxes agree (both show the same image), the FP
# MSE over image pixels (no padding). Everything else is the release.
_base_ = './deeplabv3plus_r18-d16_dssn_1k_toyscenes-1-16-128x128.py'
model = dict(siamese_pixels='agree')
