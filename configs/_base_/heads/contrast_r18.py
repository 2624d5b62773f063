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
# ContrastiveSeg (Wang et al. 2021) over every labelled pixel, with its pixel
# and segment memory banks as extra keys.
contrastiveseg_head = dict(
    **contrast_head,
    loss_decode=dict(
        type='PixelContrastLoss',
        temperature=0.1,
        base_temperature=0.07,
        loss_weight=0.1,
        memory=dict(num_classes=8, dim=128, length=5000,
                    pixels_per_class=10)))
# ContrastiveSeg as released: hard/easy anchor sampling (needs the segmenter's
# prediction: use type='PredictionSharingEncoderDecoder'), with the banks.
# max_views is scaled to the 16 x 16 embedding of a 128 x 128 crop (the
# released 100 is for 64 x 128 embeddings of 512 x 1024 crops).
contrastiveseg_hard_head = dict(
    **contrast_head,
    loss_decode=dict(
        type='PixelContrastLoss',
        temperature=0.1,
        base_temperature=0.07,
        loss_weight=0.1,
        sampling='hard',
        max_samples=1024,
        max_views=25,
        memory=dict(num_classes=8, dim=128, length=5000,
                    pixels_per_class=10)))
# CSS (Wang et al., ICCV 2023): CE of each anchor over [its class prototype, pixels of other
# classes] / 0.5 over all valid pixels; prototypes P_c <- 0.99 P_c + 0.01 class mean (the
# released code samples 256 hard anchors and 512 negatives per class: max_*_per_class).
css_head = dict(
    **contrast_head,
    loss_decode=dict(
        type='PrototypeContrastLoss',
        num_classes=8,
        dim=128,
        temperature=0.5,
        decay=0.99,
        max_anchors_per_class=None,
        max_keys_per_class=None,
        loss_weight=0.1))
