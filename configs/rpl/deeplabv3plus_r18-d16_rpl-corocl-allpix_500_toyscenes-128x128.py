# densecl option: RPL + CoroCL contrasting every pixel of the four pools
# (exact, through densecl.ops) instead of the released min(512, smallest
# pool) random pixels per pool; all else as released.
_base_ = ['./deeplabv3plus_r18-d16_rpl-corocl_500_toyscenes-128x128.py']
model = dict(loss_corocl=dict(max_views=None))
