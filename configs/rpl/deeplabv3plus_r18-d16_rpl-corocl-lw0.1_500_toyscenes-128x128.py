# densecl option: RPL + CoroCL with the CoroCL loss weighted 0.1 (densecl's
# earlier default) instead of the released 1.0; all else as released.
_base_ = ['./deeplabv3plus_r18-d16_rpl-corocl_500_toyscenes-128x128.py']
model = dict(loss_corocl=dict(loss_weight=0.1))
