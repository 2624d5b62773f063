# HRNetV2-W48 + ContrastiveSeg with memory on Cityscapes (Wang et al., ICCV 2021, sec. 3.3;
# the README gives no number for this run). The release (scripts/cityscapes/hrnet/
# job_run_h_48_d_4_contrast_mem.sh -> run_h_48_d_4_contrast_mem.sh: main_contrastive.py,
# configs/cityscapes/H_48_D_4_MEM.json, model hrnet_w48_mem = HRNet_W48_MEM around
# HRNet_W48_CONTRAST, loss mem_contrast_ce_loss in lib/loss/loss_contrast_mem.py, queues in
# segmentor/trainer_contrastive.py) is the run without memory with: T 0.07, T_base 0.07,
# weight 1, max_views 1 (one hard/easy anchor per (image, class), 1,024 anchors at most), and a
# pixel queue and a segment queue of 5,000 entries per class (memory_size) as the only keys;
# after every step each image adds its class means to the segment queue and 10 random pixels
# per class (pixel_update_freq) to the pixel queue, from the start of training; the contrast
# enters the loss from iteration 5,000. Same schedule (40k, 4 GPUs x 2, lr 0.01; the script
# names the run "lr2x" but sets BASE_LR=0.01).
# Here: the run without memory (fcn_hr48_contrastiveseg_...) with these PixelContrastLoss
# values, memory=dict(length=5000, pixels_per_class=10) and memory_only=True.
# Departures: those of the baseline and of the run without memory (SyncBN via --cfg-options
# sync_bn=torch, mmseg's ImageNet weights and normalisation, mmseg's HRNet fuse resize,
# conv_seg bias, densecl's Cityscapes augmentation, validation every 4k; the release validated
# every 2k here), and densecl's queues, which follow the paper where the released queue code
# departs from it (README, "ContrastiveSeg as released"): every class is stored (the release
# skips class 0), the pixel entries are random pixels of the class on the embedding grid and
# the write pointer moves by the entries written (the release: +1), queue labels are the
# nearest-downsampled labels at the embedding size (the release slices them at stride 8 while
# HRNet's embedding is at stride 4), entries come from every GPU (the release: each rank
# enqueues its own batch, then DDP broadcasts rank 0's buffers), no queue entry is dropped
# from the positives (the release's self-mask drops queue column i from anchor i's), and the
# queues start empty (the release: random unit vectors).
_base_ = './fcn_hr48_contrastiveseg_4xb2-40k_cityscapes-512x1024.py'
model = dict(
    auxiliary_head=dict(
        loss_decode=dict(
            temperature=0.07,
            base_temperature=0.07,
            loss_weight=1.0,
            max_views=1,
            memory=dict(num_classes=19, dim=256, length=5000, pixels_per_class=10),
            memory_only=True)))
