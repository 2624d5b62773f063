"""RPL and AnomalyEncoderDecoder: freezing, closed-set loading, anomaly maps, configs in tools."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from scipy.ndimage import gaussian_filter

import densecl  # noqa: F401
from densecl.models.utils import gaussian_blur
from rpl_testing import CLOSED_SET, ROOT, RPL, TINY_AUX, TINY_COROCL, TINY_MODEL, run_tool


def build(variant, **options):
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, RPL.format(variant)))
    tiny = {**TINY_MODEL, **(TINY_AUX if variant.startswith('closed') else {}),
            **(TINY_COROCL if 'corocl' in variant else {})}
    cfg.merge_from_dict({**tiny, **options})
    return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def closed_set(tmp_path_factory):
    torch.manual_seed(0)
    model = build('closed-set_1k')
    model.init_weights()
    path = str(tmp_path_factory.mktemp('closed') / 'closed.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return model.eval(), path


def samples(batch, size=64):
    out = []
    for _ in range(batch):
        labels = torch.randint(0, 8, (1, size, size))
        labels[:, :16, :16] = 254
        sample = SegDataSample(gt_sem_seg=PixelData(data=labels))
        sample.set_metainfo(dict(img_shape=(size, size), pad_shape=(size, size),
                                 ori_shape=(size, size)))
        out.append(sample)
    return out


def test_only_the_residual_block_and_corocl_head_learn(closed_set):
    _, path = closed_set
    model = build('rpl-corocl_500', **{'model.closed_set_checkpoint': path})
    model.init_weights()
    model.train()
    assert not model.decode_head.training and not model.backbone.training
    losses = model.loss(torch.randn(2, 3, 64, 64), samples(2))
    assert set(losses) == {'loss_inlier', 'loss_outlier', 'corocl.loss_contrast'}
    sum(losses.values()).backward()
    learned = {name.split('.')[0] for name, p in model.named_parameters()
               if p.grad is not None and p.grad.abs().sum() > 0}
    assert learned == {'residual_block', 'contrast_head'}


def test_segmentation_is_the_closed_set_one_and_the_anomaly_map_is_blurred_energy(closed_set):
    reference, path = closed_set
    model = build('rpl_500', **{'model.closed_set_checkpoint': path}).eval()
    model.init_weights()
    for name in ('image_pool', 'aspp_modules'):  # the residual ASPP starts as a copy
        torch.testing.assert_close(getattr(model.residual_block, name).state_dict(),
                                   getattr(reference.decode_head, name).state_dict())
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ours = model.predict(images, samples(2))
        theirs = reference.predict(images, samples(2))
        _, out2, _ = model.forward_pair(model.extract_feat(images))
    out2 = torch.nn.functional.interpolate(out2, size=(64, 64), mode='bilinear')
    energy = (-out2.logsumexp(1)).numpy()
    for i in range(2):
        torch.testing.assert_close(ours[i].seg_logits.data, theirs[i].seg_logits.data)
        assert torch.equal(ours[i].pred_sem_seg.data, theirs[i].pred_sem_seg.data)
        expected = gaussian_filter(energy[i], sigma=1.0, truncate=3.0, mode='mirror')
        np.testing.assert_allclose(ours[i].pred_anomaly_map.data[0].numpy(), expected,
                                   rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('score', ['msp', 'max_logit', 'energy'])
def test_baseline_scores(closed_set, score):
    reference, _ = closed_set
    reference.score, reference.blur = score, None
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        result = reference.predict(images, samples(1))[0]
    logits = result.seg_logits.data
    expected = {'msp': -logits.softmax(0).amax(0), 'max_logit': -logits.amax(0),
                'energy': -logits.logsumexp(0)}[score]
    torch.testing.assert_close(result.pred_anomaly_map.data[0], expected)


def test_gaussian_blur_matches_scipy():
    maps = torch.randn(2, 9, 12, dtype=torch.float64)
    expected = [gaussian_filter(m.numpy(), sigma=1.5, truncate=2.0, mode='mirror') for m in maps]
    np.testing.assert_allclose(gaussian_blur(maps, 7, 1.5).numpy(), np.stack(expected), atol=1e-12)


def test_checkpoint_of_another_model_is_refused(closed_set, tmp_path):
    _, path = closed_set
    state = torch.load(path, weights_only=True)['state_dict']
    del state['decode_head.sep_bottleneck.0.depthwise_conv.conv.weight']
    wrong = str(tmp_path / 'wrong.pth')
    torch.save({'state_dict': state}, wrong)
    with pytest.raises(ValueError, match=r'does not fit the closed-set model: 1 keys missing'):
        build('rpl_500', **{'model.closed_set_checkpoint': wrong}).init_weights()
    with pytest.raises(FileNotFoundError, match='train the closed-set config first'):
        build('rpl_500', **{'model.closed_set_checkpoint': str(tmp_path / 'no.pth')}).init_weights()


def test_rpl_needs_the_feature_head():
    with pytest.raises(TypeError, match="SepASPPFeatureHead"):
        build('rpl_500', **{'model.decode_head.type': 'DepthwiseSeparableASPPHead'})


def test_unknown_score_is_refused():
    with pytest.raises(ValueError, match="score must be one of"):
        build('closed-set_1k', **{'model.score': 'entropy'})


def test_configs_train_and_test_through_the_tools(toyscenes_root, tmp_path):
    schedule = {'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2,
                'default_hooks.checkpoint.interval': 2}
    closed = str(tmp_path / 'closed')
    run_tool('train', CLOSED_SET, closed, toyscenes_root,
             options={**TINY_MODEL, **TINY_AUX, **schedule})
    log = run_tool('test', CLOSED_SET, str(tmp_path / 'msp'), toyscenes_root,
                   f'{closed}/iter_2.pth', options={**TINY_MODEL, **TINY_AUX})
    assert 'AUROC' in log and 'FPR95' in log
    for variant in ('rpl_500', 'rpl-corocl_500', 'rpl-corocl-sampled_500'):
        work_dir = str(tmp_path / variant)
        options = {**TINY_MODEL, **(TINY_COROCL if 'corocl' in variant else {}), **schedule,
                   'model.closed_set_checkpoint': f'{closed}/iter_2.pth',
                   'train_dataloader.dataset.pipeline.5.outlier_root':
                   osp.join(toyscenes_root, 'outliers')}
        log = run_tool('train', RPL.format(variant), work_dir, toyscenes_root, options=options)
        assert 'loss_outlier' in log and 'mIoU' in log
        assert ('corocl.loss_contrast' in log) == ('corocl' in variant)
    log = run_tool('test', RPL.format('rpl_500'), str(tmp_path / 'test'), toyscenes_root,
                   f'{tmp_path}/rpl_500/iter_2.pth', options=TINY_MODEL)
    assert 'AUROC' in log and 'AP' in log
