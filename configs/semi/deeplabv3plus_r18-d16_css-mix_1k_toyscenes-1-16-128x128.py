# CSS 'mix' as its release (mix_label.py) trains: only pixels where the logit and the
# representation labels agree are supervised, the classifier with each image's CE times
# (its pixels with logit confidence >= 0.97) / (its agreeing pixels), the contrast with those
# of logit confidence >= 0.7. Everything else as 'cross'.
_base_ = './deeplabv3plus_r18-d16_css-cross_1k_toyscenes-1-16-128x128.py'
model = dict(mode='mix')
