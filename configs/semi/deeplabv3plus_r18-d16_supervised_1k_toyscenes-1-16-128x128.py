# Supervised-only row of the semi-supervised benchmark: the pixel-contrast benchmark's
# DeepLabV3+ R18 (output stride 16) as the student of a SemiSupervisedSegmentor, trained on
# the 1/16 split of toyscenes train only, `num_labeled` images per step (the labelled share
# of the semi rows' batch). Its EMA teacher is evaluated too: student/mIoU, teacher/mIoU.
_base_ = '../contrast/deeplabv3plus_r18-d16_1k_toyscenes-128x128.py'
crop_size = (128, 128)
batch_size = 8  # per process: num_labeled labelled + the rest unlabelled in the semi rows
num_labeled = 4
labeled_split = 'splits/train_1-16.txt'
model = dict(
    _delete_=True,
    type='SemiSupervisedSegmentor',
    segmentor={{_base_.model}},
    data_preprocessor=dict(
        type='SemiDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    teacher_momentum=0.01)  # mmengine EMA: teacher <- 0.99 teacher + 0.01 student
labeled_dataset = dict(
    type={{_base_.dataset_type}},
    data_root={{_base_.data_root}},
    data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
    ann_file=labeled_split,
    pipeline={{_base_.train_pipeline}})
train_dataloader = dict(batch_size=num_labeled, dataset=dict(_delete_=True, **labeled_dataset))
val_cfg = dict(type='TeacherStudentValLoop')
