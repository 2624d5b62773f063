# Option (densecl's earlier choice): SePiCo ProtoCL with the EMA teacher in eval mode, its BN
# layers normalising with EMA-averaged running statistics instead of each batch's own, for
# pseudo-labels and class statistics. Isolates what the release's train-mode teacher brings.
_base_ = './deeplabv3plus_r18-d16_sepico-proto_1k_toyscenes-source2target-128x128.py'
model = dict(teacher_mode='eval', teacher_buffers='ema')
