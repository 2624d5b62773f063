# Pixel-contrast auxiliary heads for ResNet-18 V1c at output stride 16: the
# projection sees stages 2-4 resized to stride 8 and concatenated (as
# ContrastiveSeg projects HRNet's concatenated branches). Add one next to a
# segmenter's auxiliary head:
#   model = dict(auxiliary_head=[{{_base_.model.auxiliary_head}}, {{_base_.supcon_head}}])
# toyscenes: 8 classes; the memory banks must match num_classes and embed_channels.
contrast_head = dict(
    type='ContrastHead',
    in_channels=[128, 256, 512],
    in_index=[1, 2, 3],
    input_transform='resize_concat',
    channels=256,
    embed_channels=128,
    num_classes=8,
    norm_cfg=dict(type='BN', requires_grad=True),
    align_corners=False)
# SupCon L_out (Khosla et al. 2020) over every labelled pixel.
supcon_head = dict(
    **contrast_head,
    loss_decode=dict(type='PixelSupConLoss', temperature=0.1, loss_weight=0.1))
# The ContrastiveSeg losses raise when exactly 0 for a whole toyscenes epoch (400 images /
# batch 8 = 50 steps): the run would be a plain baseline under a contrast row's name.
# ContrastiveSeg (Wang et al. 2021) as released with memory (H_48_D_4_MEM): one hard/easy
# anchor per (image, class) (max_views=1, needs type='PredictionSharingEncoderDecoder'),
# contrasted with the pixel and segment queues only, T = T_base = 0.07, weight 1. The
# queues hold every class and move by the entries written, as the paper describes.
contrastiveseg_mem_head = dict(
    **contrast_head,
    loss_decode=dict(
        type='PixelContrastLoss',
        temperature=0.07,
        base_temperature=0.07,
        loss_weight=1.0,
        sampling='hard',
        max_samples=1024,
        max_views=1,
        memory=dict(num_classes=8, dim=128, length=5000, pixels_per_class=10),
        memory_only=True,
        max_zero_steps=50))
# ContrastiveSeg as released without memory (H_48_D_4): hard/easy anchors contrasted with
# each other, T 0.1, T_base 0.07, weight 0.1. max_views is scaled: the released 100 views
# of a 128 x 256 embedding keep nearly no class of a 16 x 16 one (toyscenes: only classes 0
# and 1 have more than 25 cells); 3 keeps 88% of the (image, class) pairs, every class
# in at least 66% of its images.
contrastiveseg_hard_head = dict(
    **contrast_head,
    loss_decode=dict(
        type='PixelContrastLoss',
        temperature=0.1,
        base_temperature=0.07,
        loss_weight=0.1,
        sampling='hard',
        max_samples=1024,
        max_views=3,
        max_zero_steps=50))
# densecl's earlier ContrastiveSeg: every labelled pixel (exact, no sampling) contrasted
# with the other pixels and the pixel and segment memory banks, T 0.1, T_base 0.07,
# weight 0.1.
contrastiveseg_bank_head = dict(
    **contrast_head,
    loss_decode=dict(
        type='PixelContrastLoss',
        temperature=0.1,
        base_temperature=0.07,
        loss_weight=0.1,
        memory=dict(num_classes=8, dim=128, length=5000, pixels_per_class=10),
        memory_only=False,
        max_zero_steps=50))
# CSS's representation head (Wang et al., ICCV 2023): the projection above with the
# release's 256-dim raw embeddings (PrototypeContrastHead), and its anchor-to-prototype
# contrast: 256 anchors per class among pixels whose representation probability of their
# class is < 0.8, 512 negatives per anchor drawn by prototype similarity, temperature 0.5,
# prototypes P_c <- 0.99 P_c + 0.01 raw class mean. tau_r (rep_temperature) is 0.1, not the
# release's 0.5, which caps the representation confidence below the 0.97 the classifier
# loss needs (0.886 with 8 classes). toyscenes: 8 classes.
css_head = dict(
    contrast_head,
    type='PrototypeContrastHead',
    embed_channels=256,
    loss_decode=dict(
        type='PrototypeContrastLoss',
        num_classes=8,
        dim=256,
        temperature=0.5,
        decay=0.99,
        rep_temperature=0.1,
        hard_thresh=0.8,
        num_anchors=256,
        num_negatives=512,
        contrast_pixels='sampled',
        loss_weight=1.0))
# densecl's first contrast: every pixel an anchor against every pixel of another class,
# exact, averaged over pixels.
css_allpix_head = dict(css_head, loss_decode=dict(css_head['loss_decode'], contrast_pixels='all'))
