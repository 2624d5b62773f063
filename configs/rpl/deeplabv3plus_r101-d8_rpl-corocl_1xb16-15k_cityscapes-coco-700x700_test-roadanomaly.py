# RPL + CoroCL as released (deeplabv3plus_r101-d8_rpl-corocl_1xb16-15k_cityscapes-coco-700x700.py,
# whose header lists the release and every departure), tested on Road Anomaly (Lis et al., ICCV
# 2019) instead of Fishyscapes L&F: train with the parent config, then
#   python tools/test.py THIS_CONFIG work_dirs/<parent>/iter_14840.pth
# The release (rpl_corocl.code/dataset/validation/road_anomaly.py, valid.py) reads the
# preprocessed copy, original/*.jpg with labels/*.png (0 inlier, 1 anomaly), each image whole at
# its size, energy blurred 7 / 1, pixels pooled: configs/_base_/datasets/road_anomaly.py's
# variant='preprocessed' (the official RoadAnomaly_jpg folder: test_dataloader.dataset.variant=raw).
# The dataset is restated here because mmengine refuses a second OoD base next to the parent's
# Fishyscapes one (same keys); pipeline and evaluator are the parent's.
_base_ = ['./deeplabv3plus_r101-d8_rpl-corocl_1xb16-15k_cityscapes-coco-700x700.py']
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='RoadAnomalyDataset',
        data_root='data/road_anomaly',
        variant='preprocessed',
        pipeline={{_base_.ood_test_pipeline}}))
