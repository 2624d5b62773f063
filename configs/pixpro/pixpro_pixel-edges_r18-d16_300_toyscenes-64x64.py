# PixPro (Xie et al., CVPR 2021) with densecl's crop geometry: a crop spans its outer pixel
# edges (x / W), exact for TwoViewCrop's half-pixel resize, where the release spans the
# centres of its first and last pixels (x / (W - 1)). Everything else as released.
_base_ = './pixpro_r18-d16_300_toyscenes-64x64.py'
model = dict(crop_coords='pixel_edges')
