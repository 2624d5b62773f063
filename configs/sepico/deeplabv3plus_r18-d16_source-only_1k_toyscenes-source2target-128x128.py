# Source-only row of the domain-adaptation benchmark: the pixel-contrast benchmark's
# DeepLabV3+ R18 (output stride 16, AdamW, 1k iterations) trained on toyscenes train (source
# style) only, `num_source` images per step (the source share of the adaptation rows' batch),
# evaluated on target_val (target style). Its EMA teacher is evaluated too.
_base_ = '../contrast/deeplabv3plus_r18-d16_1k_toyscenes-128x128.py'
crop_size = (128, 128)
batch_size = 8  # per process: num_source source + the rest target images in the adaptation rows
num_source = 4
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    _delete_=True,
    type='SePiCoSegmentor',
    segmentor=dict(
        type='EncoderDecoder',
        backbone={{_base_.model.backbone}},
        # DeepLabV3+ whose decoder features (the classifier's input) can be projected
        decode_head=dict(
            type='SepASPPFeatureHead',
            in_channels=512,
            in_index=3,
            channels=128,
            dilations=(1, 6, 12, 18),
            c1_in_channels=64,
            c1_channels=12,
            dropout_ratio=0.1,
            num_classes={{_base_.num_classes}},
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole')),
    data_preprocessor=dict(
        type='SemiDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    self_training=False,
    # mmengine EMA with momentum max(1 - alpha, 1 / (t + 1)): SePiCo's (DACS's) teacher decay
    # min(1 - 1 / (t + 1), alpha) with alpha = 0.999
    teacher_momentum=0.001,
    teacher_ema=dict(type='MomentumAnnealingEMA', gamma=1),
    # its teacher is only evaluated and runs no training forward passes: it averages the
    # student's BN statistics (the adaptation rows' train-mode teacher keeps its own)
    teacher_mode='eval',
    teacher_buffers='ema')
source_dataset = dict(
    type={{_base_.dataset_type}},
    data_root={{_base_.data_root}},
    data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
    pipeline={{_base_.train_pipeline}})
train_dataloader = dict(batch_size=num_source, dataset=dict(_delete_=True, **source_dataset))
val_dataloader = dict(
    dataset=dict(data_prefix=dict(img_path='img_dir/target_val', seg_map_path='ann_dir/target_val')))
test_dataloader = val_dataloader
val_cfg = dict(type='TeacherStudentValLoop')
