# ContrastiveSeg's schedule (tfzhou/ContrastiveSeg, configs/cityscapes/H_48_D_4*.json and
# R_101_D_8.json with the scripts' MAX_ITERS / BASE_LR): SGD lr 0.01, momentum 0.9, weight
# decay 5e-4 on every parameter, 40k iterations, "lambda_poly" (1 - iter / 40k) ** 0.9 down
# to 0 (schedule_40k stops at 1e-4). Validation and checkpoints stay every 4k iterations.
_base_ = './schedule_40k.py'
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=40000, by_epoch=False)
]
