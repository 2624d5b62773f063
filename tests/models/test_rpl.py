"""RPL and AnomalyEncoderDecoder: the released residual block and CoroCL, freezing,
closed-set loading, anomaly maps, configs in tools."""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from scipy.ndimage import gaussian_filter

import densecl  # noqa: F401
from densecl.datasets import generate
from densecl.losses import PixelContrastLoss
from densecl.models.utils import gaussian_blur
from rpl_testing import CLOSED_SET, ROOT, RPL, TINY_AUX, TINY_MODEL, run_tool

VARIANTS = ('rpl_500', 'rpl-adamw_500', 'rpl-corocl_500', 'rpl-corocl-allpix_500',
            'rpl-corocl-lw0.1_500')


def config(variant, **options):
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, RPL.format(variant)))
    cfg.merge_from_dict({**TINY_MODEL, **(TINY_AUX if variant.startswith('closed') else {}),
                         **options})
    return cfg


def build(variant, **options):
    return MODELS.build(config(variant, **options).model)


@pytest.fixture(scope='module')
def closed_set(tmp_path_factory):
    torch.manual_seed(0)
    model = build('closed-set_1k')
    model.init_weights()
    path = str(tmp_path_factory.mktemp('closed') / 'closed.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return model.eval(), path


def samples(batch, size=64, context=()):
    """Random labels with a 16 x 16 outlier; images in ``context`` are outlier-context ones
    (the outlier, inlier label 0 around it)."""
    out = []
    for i in range(batch):
        labels = torch.randint(0, 8, (1, size, size))
        if i in context:
            labels.fill_(0)
        labels[:, :16, :16] = 254
        sample = SegDataSample(gt_sem_seg=PixelData(data=labels))
        sample.set_metainfo(dict(img_shape=(size, size), pad_shape=(size, size),
                                 ori_shape=(size, size), outlier_context=i in context))
        out.append(sample)
    return out


def rpl(variant, path):
    model = build(variant, **{'model.closed_set_checkpoint': path})
    model.init_weights()
    return model


def test_only_the_residual_block_and_the_corocl_projection_learn(closed_set):
    model = rpl('rpl-corocl_500', closed_set[1]).train()
    assert not model.decode_head.training and not model.backbone.training
    assert model.residual_block.training
    losses = model.loss(torch.randn(4, 3, 64, 64), samples(4, context=(2, 3)))
    assert set(losses) == {'loss_inlier', 'loss_outlier', 'loss_corocl'}
    assert all(value > 0 for value in losses.values())
    sum(losses.values()).backward()
    learned = {name.split('.')[0] for name, p in model.named_parameters()
               if p.grad is not None and p.grad.abs().sum() > 0}
    assert learned == {'residual_block', 'corocl_projection'}


def test_the_residual_is_a_random_conv_on_the_copied_aspp_added_before_the_final_layers(
        closed_set):
    reference, path = closed_set
    model = rpl('rpl-corocl_500', path).eval()
    head = reference.decode_head
    for name in ('image_pool', 'aspp_modules', 'bottleneck'):  # copies of the closed-set ones
        torch.testing.assert_close(getattr(model.residual_block, name).state_dict(),
                                   getattr(head, name).state_dict())
    final = model.residual_block.final.weight
    # 1x1, channels -> channels + c1_channels (16 -> 20), Kaiming normal: std sqrt(2 / 16)
    assert final.shape == (20, 16, 1, 1) and model.residual_block.final.bias is None
    assert final.std().item() == pytest.approx((2 / 16) ** 0.5, rel=0.2)
    projection = model.corocl_projection  # one 1x1 conv with bias, as released
    assert projection.weight.shape == (20, 16, 1, 1) and not projection.bias.any()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        x = reference.extract_feat(images)
        c1 = head.c1_bottleneck(x[0])
        aspp = F.interpolate(head._forward_feature(x), c1.shape[2:], mode='bilinear')
        decoder_input = torch.cat([aspp, c1], 1)
        expected = head.cls_seg(head.sep_bottleneck(decoder_input + F.conv2d(aspp, final)))
        out1, out2, hidden = model.forward_pair(model.extract_feat(images))
    torch.testing.assert_close(out1, head(x))
    torch.testing.assert_close(out2, expected)
    torch.testing.assert_close(hidden, aspp)


def optimizer_groups(name, closed_set):
    """(model, optimizer type name, parameter id -> its param group) of config ``name``."""
    cfg = config(name, **{'model.closed_set_checkpoint': closed_set[1]})
    model = MODELS.build(cfg.model)
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    groups = {id(p): g for g in optimizer.param_groups for p in g['params']}
    return model, type(optimizer).__name__, groups


def test_the_release_optimizer_gives_the_random_conv_ten_times_the_learning_rate(closed_set):
    model, optimizer, group = optimizer_groups('rpl-corocl_500', closed_set)
    assert optimizer == 'Adam'
    assert group[id(model.residual_block.final.weight)]['lr'] == pytest.approx(0.01)
    for param in (model.residual_block.bottleneck.conv.weight, model.corocl_projection.weight):
        assert group[id(param)]['lr'] == pytest.approx(0.001)
    assert all(g['weight_decay'] == 0 for g in group.values())


def test_the_adamw_option_gives_the_whole_block_one_learning_rate_and_weight_decay(closed_set):
    model, optimizer, group = optimizer_groups('rpl-adamw_500', closed_set)
    assert optimizer == 'AdamW'
    for param in (model.residual_block.final.weight, model.residual_block.bottleneck.conv.weight):
        assert group[id(param)]['lr'] == pytest.approx(0.001)
        assert group[id(param)]['weight_decay'] == pytest.approx(0.01)


def test_context_images_stay_out_of_the_rpl_losses(closed_set):
    model = rpl('rpl-corocl_500', closed_set[1]).eval()  # BN statistics: images independent
    images = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        mixed = model.loss(images, samples(3, context=(2,)))
        scenes = model.loss(images[:2], samples(3, context=(2,))[:2])
        as_scene = model.loss(images, samples(3))
    for name in ('loss_inlier', 'loss_outlier'):
        torch.testing.assert_close(mixed[name], scenes[name])
        assert not torch.allclose(as_scene[name], scenes[name])


def test_corocl_needs_the_context_flag_of_each_sample(closed_set):
    model = rpl('rpl-corocl_500', closed_set[1])
    data = samples(2)
    for sample in data:
        sample.set_metainfo({'outlier_context': None})
    with pytest.raises(ValueError, match="add it to the PackSegInputs meta_keys"):
        model.loss(torch.randn(2, 3, 64, 64), data)


@pytest.fixture(scope='module')
def training_batches(tmp_path_factory):
    """3 batches of the release CoroCL config's train pipeline and data preprocessor on 8
    toyscenes train images at the benchmark's 128 x 128, with 8 outlier crops."""
    root = str(tmp_path_factory.mktemp('scenes128'))
    generate(root, seed=0, size=128, counts=dict(train=8, val=0, unlabeled=0, target_train=0,
                                                 target_val=0, ood_val=0, outliers=8))
    cfg = config('rpl-corocl_500', **{
        'train_dataloader.dataset.data_root': root,
        'train_dataloader.dataset.pipeline.5.outlier_root': osp.join(root, 'outliers'),
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False})
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    preprocessor = MODELS.build(cfg.model.data_preprocessor)
    return [preprocessor(batch, True) for _, batch in zip(range(3), loader)]


@pytest.mark.parametrize('variant', VARIANTS[2:])
def test_corocl_is_alive_in_every_training_batch(closed_set, training_batches, variant):
    """CoroCL's loss and gradient are nonzero on every real train-pipeline batch with outliers."""
    model = rpl(variant, closed_set[1]).train()
    for data in training_batches:
        context = [s.outlier_context for s in data['data_samples']]
        assert 0 < sum(context) < len(context)
        loss = model.loss(**data)['loss_corocl']
        model.corocl_projection.zero_grad()
        loss.backward()
        assert loss.item() > 0 and model.corocl_projection.weight.grad.abs().sum() > 0


def test_the_former_sampled_config_drew_no_outlier_anchor_from_these_batches(training_batches):
    """ContrastiveSeg's rule (max_views=512 per image and class), which the former
    'sampled, as released' config used, on the same batches at the 32 x 32 embedding size."""
    former = PixelContrastLoss(sampling='hard', max_samples=1024, max_views=512)
    for data in training_batches:
        labels = torch.stack([s.gt_sem_seg.data[0] for s in data['data_samples']]).long()
        binary = (labels == 254).long().masked_fill(labels == 255, 255)
        binary = F.interpolate(binary[:, None].float(), (32, 32), mode='nearest')[:, 0].long()
        _, anchor_labels = former.select_anchors(torch.randn(len(labels), 8, 32, 32),
                                                 binary, binary)
        assert (binary == 1).any() and 0 in anchor_labels.tolist()
        assert 1 not in anchor_labels.tolist()


def test_segmentation_is_the_closed_set_one_and_the_anomaly_map_is_blurred_energy(closed_set):
    reference, path = closed_set
    model = rpl('rpl_500', path).eval()
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
    """The closed-set config and every RPL config on its checkpoint train and test via the tools."""
    schedule = {'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2,
                'default_hooks.checkpoint.interval': 2}
    closed = str(tmp_path / 'closed')
    run_tool('train', CLOSED_SET, closed, toyscenes_root,
             options={**TINY_MODEL, **TINY_AUX, **schedule})
    log = run_tool('test', CLOSED_SET, str(tmp_path / 'msp'), toyscenes_root,
                   f'{closed}/iter_2.pth', options={**TINY_MODEL, **TINY_AUX})
    assert 'AUROC' in log and 'FPR95' in log
    for variant in VARIANTS:
        work_dir = str(tmp_path / variant)
        options = {**TINY_MODEL, **schedule,
                   'model.closed_set_checkpoint': f'{closed}/iter_2.pth',
                   'train_dataloader.dataset.pipeline.5.outlier_root':
                   osp.join(toyscenes_root, 'outliers')}
        log = run_tool('train', RPL.format(variant), work_dir, toyscenes_root, options=options)
        assert 'loss_outlier' in log and 'mIoU' in log
        assert ('loss_corocl' in log) == ('corocl' in variant)
    log = run_tool('test', RPL.format('rpl_500'), str(tmp_path / 'test'), toyscenes_root,
                   f'{tmp_path}/rpl_500/iter_2.pth', options=TINY_MODEL)
    assert 'AUROC' in log and 'AP' in log
