"""DenseCL and PixPro losses against hand-written formulas on tiny models."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import convert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch.nn.modules.batchnorm import _BatchNorm

from densecl.models.selfsup import dense_correspondence, pixcontrast_loss, pixpro_consistency_loss
from selfsup_testing import DENSECL_CONFIG, PIXPRO_CONFIG, TINY_DENSECL, TINY_PIXPRO


def build(path, options, **model):
    init_default_scope('mmseg')
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(options)
    cfg.model.update(model)
    torch.manual_seed(0)
    built = MODELS.build(cfg.model)
    built.init_weights()
    return built


def samples(boxes, flips):
    out = []
    for box, flip in zip(boxes, flips):
        sample = SegDataSample()
        sample.set_metainfo({'crop_boxes': np.array(box, np.float32),
                             'flips': np.array(flip, bool), 'ori_shape': (128, 128)})
        out.append(sample)
    return out


def test_identical_views_and_encoders_match_every_location_to_itself():
    model = build(DENSECL_CONFIG, TINY_DENSECL)
    model.update_momentum_encoder()  # the first update copies the query encoder
    view = torch.randn(2, 3, 64, 64)
    key_feats, _ = model.momentum_encode(view)
    match = dense_correspondence(model.backbone(view)[-1], key_feats[-1])
    assert match.shape == (2, 16)
    assert torch.equal(match, torch.arange(16).expand(2, -1))


def test_densecl_losses_equal_moco_v2_written_out():
    model = build(DENSECL_CONFIG, TINY_DENSECL, loss_lambda=0.25)
    views = [torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64)]
    global_queue = model.global_queue.keys.clone()
    dense_queue = model.dense_queue.keys.clone()
    losses = model.loss(views)

    # After the first update the key encoder equals the query encoder.
    q_feat = model.backbone(views[0])[-1]
    k_feat = model.backbone(views[1])[-1]
    q_global, q_dense, _ = model.neck([q_feat])
    k_global, k_dense, k_pooled = model.neck([k_feat])
    q, k = F.normalize(q_global, dim=1), F.normalize(k_global, dim=1)
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ global_queue.t()], 1) / 0.2
    moco = F.cross_entropy(logits, torch.zeros(2, dtype=torch.long))
    torch.testing.assert_close(losses['loss_global'], 0.75 * moco)

    dense_terms = []
    for b in range(2):
        qb = F.normalize(q_feat[b].flatten(1), dim=0)
        kb = F.normalize(k_feat[b].flatten(1), dim=0)
        match = (qb.t() @ kb).argmax(1)
        qg = F.normalize(q_dense[b].flatten(1), dim=0).t()  # (L, D)
        kg = F.normalize(k_dense[b].flatten(1), dim=0).t()
        pos = (qg * kg[match]).sum(1, keepdim=True)
        dense_terms.append(torch.cat([pos, qg @ dense_queue.t()], 1) / 0.2)
    dense = F.cross_entropy(torch.cat(dense_terms), torch.zeros(32, dtype=torch.long))
    torch.testing.assert_close(losses['loss_dense'], 0.25 * dense)

    assert int(model.global_queue.ptr) == 2 and int(model.dense_queue.ptr) == 2
    torch.testing.assert_close(model.global_queue.keys[:2], k)
    torch.testing.assert_close(model.dense_queue.keys[:2], F.normalize(k_pooled, dim=1))
    torch.testing.assert_close(model.global_queue.keys[2:], global_queue[2:])


def test_pixpro_consistency_is_minus_two_for_agreeing_pixels():
    x = F.normalize(torch.randn(2, 8, 3, 3), dim=1)
    eye = torch.eye(9, dtype=torch.bool).expand(2, -1, -1)
    torch.testing.assert_close(pixpro_consistency_loss(x, x, eye), torch.tensor(-2.),
                               atol=1e-5, rtol=0)
    torch.testing.assert_close(pixpro_consistency_loss(x, -x, eye), torch.tensor(2.),
                               atol=1e-5, rtol=0)


def test_pixpro_consistency_averages_the_positive_cosines():
    # one image, 1 x 2 maps: y0 = (1, 0), y1 = (0, 1); x'0 = (1, 0), x'1 = (0.6, 0.8).
    # Positives y0-x'0, y0-x'1, y1-x'1: cosines 1, 0.6, 0.8, mean 0.8 -> -2 * 0.8
    prediction = torch.tensor([[1., 0.], [0., 1.]]).t().reshape(1, 2, 1, 2)
    key = torch.tensor([[1., 0.], [0.6, 0.8]]).t().reshape(1, 2, 1, 2)
    positive = torch.tensor([[[True, True], [False, True]]])
    torch.testing.assert_close(pixpro_consistency_loss(prediction, key, positive),
                               torch.tensor(-1.6))


def test_pixcontrast_equals_the_pixel_infonce_written_out():
    torch.manual_seed(1)
    query = F.normalize(torch.randn(2, 4, 2, 3), dim=1)
    key = F.normalize(torch.randn(2, 4, 2, 3), dim=1)
    positive = torch.rand(2, 6, 6) < 0.3
    positive[0, 0] = False  # a pixel without positives is left out
    positive[0, 1] = True
    loss = pixcontrast_loss(query, key, positive, 0.3)

    q = query.flatten(2).transpose(1, 2).reshape(12, 4)
    k = key.flatten(2).transpose(1, 2).reshape(12, 4)
    terms = []
    for i in range(12):
        b, pixel = divmod(i, 6)
        if not positive[b, pixel].any():
            continue
        sims = torch.exp(q[i] @ k.t() / 0.3)
        numerator = sims[b * 6:(b + 1) * 6][positive[b, pixel]].sum()
        terms.append(-torch.log(numerator / sims.sum()))
    torch.testing.assert_close(loss, torch.stack(terms).mean())


@pytest.mark.parametrize('weights,crop_coords', [((1., 0.), 'pixel_centres'),
                                                 ((0., 1.), 'pixel_centres'),
                                                 ((1., 1.), 'pixel_centres'),
                                                 ((1., 0.), 'pixel_edges')],
                         ids=['pixpro', 'pixcontrast', 'both', 'pixpro-pixel-edges'])
def test_pixpro_model_losses(weights, crop_coords):
    pixpro_weight, pixcontrast_weight = weights
    model = build(PIXPRO_CONFIG, TINY_PIXPRO, pixpro_weight=pixpro_weight,
                  pixcontrast_weight=pixcontrast_weight, crop_coords=crop_coords)
    assert (model.propagation is None) == (pixpro_weight == 0)
    views = [torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64)]
    boxes = [[(0.1, 0.1, 0.8, 0.9), (0.3, 0.2, 1.0, 1.0)], [(0, 0, 1, 1), (0, 0, 1, 1)]]
    losses = model.loss(views, samples(boxes, [(False, True), (True, False)]))
    assert set(losses) == {name for name, w in zip(('loss_pixpro', 'loss_pixcontrast'), weights)
                           if w}
    if pixpro_weight:
        assert -4 <= float(losses['loss_pixpro']) <= 4
    sum(losses.values()).backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.momentum_encoder.parameters())


def test_bad_model_inputs_are_named():
    model = build(PIXPRO_CONFIG, TINY_PIXPRO)
    views = [torch.randn(2, 3, 32, 32)] * 2
    with pytest.raises(ValueError, match='crop_boxes and flips'):
        model.loss(views, [SegDataSample(), SegDataSample()])
    with pytest.raises(ValueError, match='two views'):
        model(views[0], mode='loss')
    with pytest.raises(ValueError, match='crop_coords must be one of'):
        build(PIXPRO_CONFIG, TINY_PIXPRO, crop_coords='edges')
    with pytest.raises(ValueError, match='one of them > 0'):
        build(PIXPRO_CONFIG, TINY_PIXPRO, pixpro_weight=0., pixcontrast_weight=0.)
    with pytest.raises(ValueError, match='0.999 is 0.001'):
        build(DENSECL_CONFIG, TINY_DENSECL, momentum=0.999)


def test_pixpro_syncs_bn_of_encoder_and_projector_under_ddp_as_released():
    cfg = Config.fromfile(PIXPRO_CONFIG)
    assert cfg.sync_bn == 'torch'  # mmengine's Runner converts with it when distributed
    model = convert_sync_batchnorm(build(PIXPRO_CONFIG, TINY_PIXPRO), cfg.sync_bn)
    norms = {name: type(m) for name, m in model.named_modules() if isinstance(m, _BatchNorm)}
    assert set(norms.values()) == {nn.SyncBatchNorm}
    for part in ('backbone.', 'neck.', 'momentum_encoder.module.backbone.',
                 'momentum_encoder.module.neck.'):
        assert any(name.startswith(part) for name in norms), part
    # the momentum encoder still averages the converted weights: after the first update
    # (a copy), a query BN weight of 2 moves the key's 1 to 0.99 * 1 + 0.01 * 2
    model.update_momentum_encoder()
    model.neck.projector[1].weight.data.fill_(2.)
    model.update_momentum_encoder()
    torch.testing.assert_close(model.momentum_encoder.module.neck.projector[1].weight,
                               torch.full((32, ), 1.01))
    # one process without a process group: SyncBN normalises like BN and the model trains
    views = [torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)]
    boxes = [[(0.1, 0.1, 0.8, 0.9), (0.3, 0.2, 1.0, 1.0)]] * 2
    losses = model.loss(views, samples(boxes, [(False, True)] * 2))
    losses['loss_pixpro'].backward()
    assert model.neck.projector[0].weight.grad.abs().sum() > 0


def test_pixpro_projector_is_initialised_as_released():
    # PyTorch's default conv init (no mmcv Kaiming): weights and biases within
    # 1 / sqrt(fan_in), 1 / sqrt(64) for the tiny backbone's 64 channels
    conv = build(PIXPRO_CONFIG, TINY_PIXPRO).neck.projector[0]
    assert conv.bias is not None
    assert 0.1 < float(conv.weight.abs().max()) <= 1 / 8
    assert float(conv.bias.abs().max()) <= 1 / 8
