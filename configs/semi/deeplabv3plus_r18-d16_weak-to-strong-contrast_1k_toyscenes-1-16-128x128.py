# Weak-to-strong + pixel contrast: a ContrastHead (SupCon over all pixels, weight 0.1)
# contrasts labelled pixels under their labels together with the first strong view's pixels
# under their confident (>= 0.95) pseudo-labels.
_base_ = [
    './deeplabv3plus_r18-d16_weak-to-strong_1k_toyscenes-1-16-128x128.py',
    '../_base_/heads/contrast_r18.py'
]
model = dict(
    contrast_unlabeled=True,
    segmentor=dict(auxiliary_head=[
        {{_base_.model.segmentor.auxiliary_head}}, {{_base_.supcon_head}}]))
