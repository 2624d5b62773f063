# CSS 'cross' with densecl's first contrast: every labelled or confident pixel is an anchor
# against its prototype and every pixel of another class (exact, no sampling, averaged over
# pixels) instead of the release's 256 hard anchors per class and 512 sampled negatives.
_base_ = './deeplabv3plus_r18-d16_css-cross_1k_toyscenes-1-16-128x128.py'
model = dict(segmentor=dict(auxiliary_head=[{{_base_.fcn_head}}, {{_base_.css_allpix_head}}]))
