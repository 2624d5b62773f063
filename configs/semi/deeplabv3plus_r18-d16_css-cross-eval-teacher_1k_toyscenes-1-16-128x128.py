# CSS 'cross' with densecl's usual teacher instead of the release's: an EMA of parameters and
# BN statistics with decay 0.99 from the first step, in eval mode (its pseudo-labels do not
# depend on the batch they come in).
_base_ = './deeplabv3plus_r18-d16_css-cross_1k_toyscenes-1-16-128x128.py'
model = dict(
    teacher_ema=dict(type='ExponentialMovingAverage'),
    teacher_mode='eval',
    teacher_buffers='ema')
