# RPL + CoroCL as released (deeplabv3plus_r101-d8_rpl-corocl_1xb16-15k_cityscapes-coco-700x700.py,
# whose header lists the release and every departure), tested on the SegmentMeIfYouCan
# validation frames (Chan et al., NeurIPS 2021 datasets track) instead of Fishyscapes L&F: train
# with the parent config, then
#   python tools/test.py THIS_CONFIG work_dirs/<parent>/iter_14840.pth
# Anomaly track (RoadAnomaly21) here, obstacle track (RoadObstacle21) with
# --cfg-options test_dataloader.dataset.track=obstacle. The release
# (rpl_corocl.code/dataset/validation/segment_me_if_you_can.py, valid.py) scores both tracks'
# labelled validation frames as here (whole image, energy blurred 7 / 1, pixels pooled); the
# SMIYC numbers it reports come from the benchmark's own evaluation code with its
# post-processing (docs/result.md), which is not part of densecl. The dataset is restated here
# because mmengine refuses a second OoD base next to the parent's Fishyscapes one (same keys);
# pipeline and evaluator are the parent's.
_base_ = ['./deeplabv3plus_r101-d8_rpl-corocl_1xb16-15k_cityscapes-coco-700x700.py']
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='SMIYCDataset',
        data_root='data/smiyc',
        track='anomaly',
        pipeline={{_base_.ood_test_pipeline}}))
