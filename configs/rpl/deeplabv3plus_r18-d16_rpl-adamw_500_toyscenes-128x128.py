# densecl option: RPL trained with densecl's earlier optimizer, the closed-set
# schedule's AdamW (weight decay 0.01) with one learning rate for the whole
# residual block, instead of the released Adam without weight decay and 10x
# the learning rate for the random 1x1 conv; all else as released.
_base_ = ['./deeplabv3plus_r18-d16_rpl_500_toyscenes-128x128.py']
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=0.001, weight_decay=0.01),
    paramwise_cfg=dict(_delete_=True))
