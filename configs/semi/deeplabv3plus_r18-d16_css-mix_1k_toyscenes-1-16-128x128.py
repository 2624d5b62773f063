# CSS 'mix': pixels where the logit and representation labels agree (both confident)
# supervise the classifier and the contrast.
_base_ = './deeplabv3plus_r18-d16_css-cross_1k_toyscenes-1-16-128x128.py'
model = dict(mode='mix')
