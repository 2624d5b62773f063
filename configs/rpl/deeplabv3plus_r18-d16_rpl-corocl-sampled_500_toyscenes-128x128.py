# RPL + CoroCL with the released sampling: at most 512 pixels per group
# (inlier / outlier) drawn at random, instead of contrasting every labelled
# pixel. 1024 anchors per batch over the (image, group) pairs, each pair
# capped at 512.
_base_ = ['./deeplabv3plus_r18-d16_rpl-corocl_500_toyscenes-128x128.py']
model = dict(
    contrast_head=dict(
        loss_decode=dict(sampling='hard', max_samples=1024, max_views=512)))
