# PixPro (Xie et al., CVPR 2021), ResNet-50 on ImageNet-1k for 100 epochs: the release's
# tools/pixpro_base_r50_100ep.sh, which differs from the 400-epoch script only in --epochs 100
# (zdaxie/PixPro README: 58.8 VOC det AP). Everything else, and every departure, as in
# pixpro_r50_8xb128-lars-coslr-400e_in1k.py. 1,251 iterations per epoch (1,281,167 // 1,024):
# 100 epochs = 125,100 iterations, the same 6,255 warm-up iterations, the momentum encoder
# annealed over the 125,100 (the release's K: int(1,281,167 / 8 / 128 x 100) = 125,114).
_base_ = './pixpro_r50_8xb128-lars-coslr-400e_in1k.py'

iters_per_epoch = 1281167 // (8 * 128)  # 1,251
max_iters = 100 * iters_per_epoch  # 125,100
warmup_iters = 5 * iters_per_epoch  # 6,255
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        end_factor=1.0,
        by_epoch=False,
        begin=0,
        end=warmup_iters),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-6,
        by_epoch=False,
        begin=warmup_iters,
        end=max_iters)
]
train_cfg = dict(max_iters=max_iters)
