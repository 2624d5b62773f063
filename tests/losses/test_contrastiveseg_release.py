"""ContrastiveSeg as released (Wang et al., ICCV 2021), pinned by hand-computed cases.

The memory run contrasts anchors with the queues only, T = T_base = 0.07,
max_views 1, weight 1; the queues are filled as the paper describes (every
class, pixels of the embedding grid, the pointer moved by the entries
written). A contrast that stays exactly 0 raises.
"""
import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import densecl  # noqa: F401  (registers the losses)
import densecl.losses.named_loss as named_loss
from densecl.losses import PixelContrastLoss
from densecl.losses.pixel_contrast_loss import memory_contrast_loss

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = 'configs/contrast/deeplabv3plus_r18-d16_contrastiveseg-{}_1k_toyscenes-128x128.py'


def naive_queue_loss(anchors, labels, keys, key_labels, temperature, base_temperature):
    """Eq. 2 written as loops, with the queue entries as the only keys."""
    per_anchor = []
    for anchor, label in zip(anchors.tolist(), labels.tolist()):
        if label == 255:
            continue
        sims = [sum(a * k for a, k in zip(anchor, key)) / temperature for key in keys.tolist()]
        positives = [s for s, k in zip(sims, key_labels.tolist()) if k == label]
        negatives = sum(math.exp(s) for s, k in zip(sims, key_labels.tolist()) if k != label)
        if positives:
            terms = [-math.log(math.exp(p) / (math.exp(p) + negatives)) for p in positives]
            per_anchor.append(temperature / base_temperature * sum(terms) / len(terms))
    return sum(per_anchor) / len(per_anchor)


def unit_rows(gen, n, dim=4):
    return F.normalize(torch.randn(n, dim, generator=gen, dtype=torch.float64), dim=1)


def test_memory_run_contrasts_anchors_with_the_queues_only():
    gen = torch.Generator().manual_seed(0)
    z = F.normalize(torch.randn(2, 4, 3, 3, generator=gen, dtype=torch.float64), dim=1)
    labels = torch.randint(0, 3, (2, 3, 3), generator=gen)
    labels[0, 0, 0] = 255
    loss = PixelContrastLoss(temperature=0.07, base_temperature=0.07,
                             memory=dict(num_classes=3, dim=4, length=8)).double()
    pixels, segments = unit_rows(gen, 6), unit_rows(gen, 3)
    loss.pixel_bank.push(pixels, torch.tensor([0, 0, 1, 1, 2, 2]))
    loss.segment_bank.push(segments, torch.tensor([0, 1, 2]))
    keys = torch.cat([pixels, segments])
    key_labels = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1, 2])
    anchors = z.permute(0, 2, 3, 1).reshape(-1, 4)
    expected = naive_queue_loss(anchors, labels.flatten(), keys, key_labels, 0.07, 0.07)
    torch.testing.assert_close(loss(z, labels).item(), expected)
    # densecl's earlier option keys the anchors with each other too: another number
    loss.memory_only = False
    loss.eval()
    assert not math.isclose(loss(z, labels).item(), expected, rel_tol=1e-3)


def test_the_first_step_has_no_keys_then_the_queues_make_the_loss_alive():
    gen = torch.Generator().manual_seed(1)
    z = F.normalize(torch.randn(2, 4, 4, 4, generator=gen, dtype=torch.float64), dim=1)
    labels = torch.randint(0, 3, (2, 4, 4), generator=gen)
    loss = PixelContrastLoss(memory=dict(num_classes=3, dim=4, length=50)).double()
    assert loss(z, labels).item() == 0
    second = loss(z, labels)
    assert second.item() > 0 and torch.isfinite(second)


def test_temperature_and_base_temperature_of_eq2_by_hand():
    # anchor (1, 0) of class 0; keys: (1, 0) of class 0, (0, 1) of class 1
    anchor = torch.tensor([[1., 0.]], dtype=torch.float64)
    keys = torch.tensor([[1., 0.], [0., 1.]], dtype=torch.float64)
    loss = memory_contrast_loss(anchor, torch.tensor([0]), keys, torch.tensor([0, 1]), 0.5, 0.25)
    # (0.5 / 0.25) * -log(e^2 / (e^2 + e^0))
    assert math.isclose(loss.item(), 2 * math.log1p(math.exp(-2)), rel_tol=1e-12)
    released = memory_contrast_loss(anchor, torch.tensor([0]), keys, torch.tensor([0, 1]),
                                    0.07, 0.07)
    assert math.isclose(released.item(), math.log1p(math.exp(-1 / 0.07)), rel_tol=1e-9)
    # without memory: two anchors (1, 0) of class 0 key each other, (0, 1) of class 1 has
    # no positive and is left out of the mean
    anchors = torch.tensor([[1., 0.], [1., 0.], [0., 1.]], dtype=torch.float64)
    plain = PixelContrastLoss(temperature=0.5, base_temperature=0.25).contrast(
        anchors, torch.tensor([0, 0, 1]), None, None)
    assert math.isclose(plain.item(), 2 * math.log1p(math.exp(-2)), rel_tol=1e-9)


def build_loss(variant, **overrides):
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, CONFIG.format(variant)))
    head = cfg.model.auxiliary_head[1]
    return cfg.model.type, MODELS.build({**head.loss_decode, **overrides})


def test_configs_say_what_they_are():
    segmentor, mem = build_loss('mem')
    assert segmentor == 'PredictionSharingEncoderDecoder'
    assert (mem.temperature, mem.base_temperature, mem.loss_weight) == (0.07, 0.07, 1.0)
    assert (mem.sampling, mem.max_samples, mem.max_views, mem.memory_only) == \
        ('hard', 1024, 1, True)
    assert mem.pixel_bank.length == mem.segment_bank.length == 5000
    assert mem.pixels_per_class == 10
    segmentor, hard = build_loss('hard')
    assert segmentor == 'PredictionSharingEncoderDecoder' and hard.memory is None
    assert (hard.temperature, hard.base_temperature, hard.loss_weight) == (0.1, 0.07, 0.1)
    assert (hard.sampling, hard.max_views) == ('hard', 3)
    _, bank = build_loss('bank')
    assert (bank.sampling, bank.memory_only, bank.memory is not None) == (None, False, True)
    assert (bank.temperature, bank.base_temperature, bank.loss_weight) == (0.1, 0.07, 0.1)


def test_max_views_one_keeps_one_anchor_of_every_class_with_two_cells(monkeypatch):
    logged = []
    monkeypatch.setattr(named_loss, 'print_log', lambda msg, **kw: logged.append(msg))
    # a 16 x 16 toyscenes embedding: background, a large object, a 2-cell and a 1-cell one
    labels = torch.zeros(2, 16, 16, dtype=torch.long)
    labels[:, 4:12, 4:12] = 1
    labels[:, 0, :2] = 2
    labels[:, 15, 15] = 3
    embeddings = F.normalize(torch.randn(2, 4, 16, 16), dim=1)
    _, mem = build_loss('mem')
    _, anchor_labels = mem.select_anchors(embeddings, labels, labels)
    assert sorted(anchor_labels.tolist()) == [0, 0, 1, 1, 2, 2]
    assert len(logged) == 1 and 'class(es) [3]' in logged[0]
    _, hard = build_loss('hard')  # 3 views of each class with more than 3 cells
    _, anchor_labels = hard.select_anchors(embeddings, labels, labels)
    assert sorted(anchor_labels.tolist()) == [0] * 6 + [1] * 6


def test_queues_are_filled_as_the_paper_describes():
    # one-hot embeddings: an entry's argmax is the grid cell it came from
    labels = torch.tensor([[[0, 0, 0, 0], [0, 0, 1, 1], [1, 1, 1, 255], [2, 2, 2, 2]],
                           [[0, 0, 0, 1], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]])
    z = torch.eye(16, dtype=torch.float64).reshape(16, 4, 4)[None].repeat(2, 1, 1, 1)
    loss = PixelContrastLoss(memory=dict(num_classes=3, dim=16, length=9,
                                         pixels_per_class=3)).double()
    loss(z, labels)
    # class 0 is stored; min(3, cells) per image and class; the pointer moves by as many
    assert loss.pixel_bank.filled.tolist() == [6, 6, 3]
    assert loss.pixel_bank.write_pos.tolist() == [6, 6, 3]
    for c in range(3):
        cells = loss.pixel_bank.bank[c, :6 if c < 2 else 3].argmax(1)
        for image, image_cells in enumerate((cells[:3], cells[3:]) if c < 2 else (cells,)):
            assert (labels[image].flatten()[image_cells] == c).all()
    # one normalised mean per image and class
    assert loss.segment_bank.filled.tolist() == [2, 2, 1]
    image0_class1 = F.normalize((labels[0] == 1).flatten().double(), dim=0)
    torch.testing.assert_close(loss.segment_bank.bank[1, 0], image0_class1)
    loss(z, labels)  # 6 more of class 0 and 1 wrap around the 9 slots
    assert loss.pixel_bank.write_pos.tolist() == [3, 3, 6]


def test_a_contrast_that_stays_zero_for_an_epoch_raises():
    # toyscenes-like 16 x 16 maps whose classes all have at most 100 cells: the release's
    # unscaled max_views=100 keeps no anchor, so the loss is exactly 0 at every step
    labels = torch.zeros(2, 16, 16, dtype=torch.long)
    labels[:, :6] = 1
    labels[:, 6:10] = 2
    embeddings = F.normalize(torch.randn(2, 4, 16, 16), dim=1)
    _, loss = build_loss('hard', max_views=100, max_zero_steps=50)
    for _ in range(49):
        assert loss(embeddings, labels, labels).item() == 0
    with pytest.raises(RuntimeError, match='exactly 0 for 50 training steps'):
        loss(embeddings, labels, labels)
    # the scaled value samples every class; a live step resets the count
    _, loss = build_loss('hard', max_zero_steps=2)
    assert loss(embeddings, labels, labels).item() > 0
    loss(embeddings, labels.clamp(max=0), labels)  # one class: no negatives, loss 0
    assert loss.zero_steps == 1
    assert loss(embeddings, labels, labels).item() > 0 and loss.zero_steps == 0
