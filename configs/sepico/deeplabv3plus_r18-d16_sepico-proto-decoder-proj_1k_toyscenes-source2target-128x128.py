# Option (densecl's earlier choice): SePiCo ProtoCL projecting the decoder features (the
# classifier's input, stride 4) instead of the backbone's C5 (stride 16): the contrast then
# shapes the features the classifier reads, at a finer resolution.
_base_ = './deeplabv3plus_r18-d16_sepico-proto_1k_toyscenes-source2target-128x128.py'
model = dict(
    segmentor=dict(auxiliary_head=dict(in_channels=128, in_index=0)),
    contrast_features='decoder')
