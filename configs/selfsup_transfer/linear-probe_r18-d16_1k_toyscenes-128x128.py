# Linear probe of a pretrained ResNet-18 V1c on toyscenes: the backbone is frozen
# (weights and BN statistics) and only a 1x1 conv classifier on its stride-16 map
# is trained. The model base loads the procedural-ImageNet backbone; another one
# (tools/extract_backbone.py output) with
#   --cfg-options model.backbone.init_cfg.checkpoint=BACKBONE.pth
_base_ = '../quickstart/fcn_r18-d16_1k_toyscenes-128x128.py'
model = dict(
    backbone=dict(frozen_stages=4, norm_eval=True),
    decode_head=dict(
        in_channels=512, channels=512, num_convs=0, concat_input=False, dropout_ratio=0),
    auxiliary_head=None)
