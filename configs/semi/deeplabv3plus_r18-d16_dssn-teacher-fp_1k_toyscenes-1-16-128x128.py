# DSSN with densecl's option of teacher pseudo-labels for the two feature-perturbed views
# (class-aware selection on the teacher's weak prediction) instead of the student's own.
# Everything else is the release.
_base_ = './deeplabv3plus_r18-d16_dssn_1k_toyscenes-1-16-128x128.py'
model = dict(fp_targets='teacher')
