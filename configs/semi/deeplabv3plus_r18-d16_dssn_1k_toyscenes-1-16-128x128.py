# DSSN (Tian et al., ACM MM 2023): two strong views and two feature perturbations with
# dual-level Siamese MSE on standardised logits, class-aware pseudo-label selection;
# 0.5 [L_x + 0.25 (4 CE terms) + 0.01 (2 MSE terms)].
_base_ = './deeplabv3plus_r18-d16_weak-to-strong_1k_toyscenes-1-16-128x128.py'
model = dict(
    type='DSSNSegmentor',
    high=0.92,
    scale=0.96,
    labeled_weight=0.5,
    strong_weight=0.125,
    fp_weight=0.125,
    consistency_weight=0.005)
