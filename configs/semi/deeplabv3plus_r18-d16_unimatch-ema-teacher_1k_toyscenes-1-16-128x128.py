# UniMatch with densecl's option of an EMA teacher (decay 0.99, eval mode; mmengine
# momentum 0.01): the teacher, not the online model, labels the weak view and the CutMix
# source. Everything else is the release config.
_base_ = './deeplabv3plus_r18-d16_unimatch_1k_toyscenes-1-16-128x128.py'
model = dict(teacher_type='ema', teacher_mode='eval', teacher_momentum=0.01,
             predict_on='teacher')
