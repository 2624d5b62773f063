# DSSN with densecl's option of an eval-mode teacher: its BN uses its running statistics
# (the EMA of the student's) instead of the weak batch's. Everything else is the release.
_base_ = './deeplabv3plus_r18-d16_dssn_1k_toyscenes-1-16-128x128.py'
model = dict(teacher_mode='eval')
