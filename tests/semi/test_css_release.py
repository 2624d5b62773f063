"""CSS as released (WangChangqi98/CSS), and densecl's options, pinned by hand-computed cases."""
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch.nn.modules.batchnorm import _BatchNorm

from densecl.losses import PrototypeContrastLoss
from densecl.models.segmentors import CSSSegmentor, WeakToStrongSegmentor
from densecl.models.segmentors.css_segmentor import image_weighted_cross_entropy
from densecl.models.utils import ClassPrototypes
from semi_testing import CONFIGS, build_model, set_iter

SIZE = 32


def test_release_configs_set_the_release_options():
    cross = Config.fromfile(CONFIGS['css-cross'])
    model = cross.model
    assert (model.mode, model.conf_thresh, model.contrast_thresh) == ('cross', 0.97, 0.7)
    assert (model.labeled_weight, model.strong_weight) == (1.0, 1.0)
    assert model.rampdown_iters == cross.train_cfg.max_iters
    assert (model.teacher_ema.type, model.teacher_momentum, model.teacher_mode,
            model.teacher_buffers) == ('MeanTeacherEMA', 0.01, 'train', 'own')
    loss = model.segmentor.auxiliary_head[1].loss_decode
    assert (loss.temperature, loss.decay, loss.hard_thresh, loss.num_anchors,
            loss.num_negatives, loss.contrast_pixels, loss.loss_weight) == (
                0.5, 0.99, 0.8, 256, 512, 'sampled', 1.0)
    assert cross.train_dataloader.dataset.unlabeled.pipeline[4].num_views == 1
    assert Config.fromfile(CONFIGS['css-mix']).model.mode == 'mix'
    allpix = Config.fromfile(CONFIGS['css-cross-allpix']).model.segmentor.auxiliary_head
    assert allpix[0].type == 'FCNHead' and allpix[1].loss_decode.contrast_pixels == 'all'
    teacher = Config.fromfile(CONFIGS['css-cross-eval-teacher']).model
    assert (teacher.teacher_ema.type, teacher.teacher_mode, teacher.teacher_buffers) == (
        'ExponentialMovingAverage', 'eval', 'ema')


def test_classifier_loss_is_the_ce_of_every_kept_pixel_times_its_image_share():
    # 2 classes, zero logits: every CE is log 2. Image 0 keeps its 4 pixels, 1 confident:
    # share 1/4. Image 1 ('mix'): 2 agreeing pixels, 3 confident ones: share 3/2.
    logits = torch.zeros(2, 2, 1, 4)
    labels = torch.zeros(2, 1, 4, dtype=torch.long)
    keep = torch.tensor([[[True, True, True, True]], [[True, True, False, False]]])
    confident = torch.tensor([[[True, False, False, False]], [[True, True, True, False]]])
    expected = (0.25 * 4 + 1.5 * 2) * math.log(2) / 6
    assert image_weighted_cross_entropy(logits, labels, keep, confident).item() == \
        pytest.approx(expected)


@pytest.mark.parametrize('mode', ['cross', 'mix'])
def test_cross_and_mix_pixel_rules(mode):
    # One image of 5 pixels, 2 classes; pixel 4 is padding.
    # logit conf:  0.98 (0)  0.75 (1)  0.6 (0)  0.99 (1)  0.99 (0)
    # rep conf:    0.99 (0)  0.99 (0)  0.9 (0)  0.6  (1)  0.99 (0)
    logit = torch.tensor([0.98, 0.25, 0.6, 0.01, 0.99])
    rep = torch.tensor([0.99, 0.99, 0.9, 0.4, 0.99])
    probs = torch.stack([logit, 1 - logit])[None, :, None]
    rep_probs = torch.stack([rep, 1 - rep])[None, :, None]
    valid = torch.tensor([[[True, True, True, True, False]]])
    config = SimpleNamespace(mode=mode, conf_thresh=0.97, contrast_thresh=0.7)
    maps = [m[0, 0].tolist() for m in CSSSegmentor.css_targets(config, probs, rep_probs, valid)]
    labels, keep, confident, contrast_labels, contrast_keep = maps
    if mode == 'cross':  # classifier: representation labels everywhere
        assert labels[:4] == [0, 0, 0, 1]
        assert keep == [True, True, True, True, False]
        assert confident == [True, True, False, False, False]
        assert contrast_keep == [True, True, False, True, False]
    else:  # only agreeing pixels; share counted on logit confidence
        assert keep == [True, False, True, True, False]
        assert confident == [True, False, False, True, False]
        assert contrast_keep == [True, False, False, True, False]
    assert contrast_labels[:4] == [0, 1, 0, 1]  # logit labels in both modes
    if mode == 'mix':
        assert [lab for lab, k in zip(labels, keep) if k] == [0, 0, 1]


def test_rampdown_is_a_gaussian_of_the_iteration(toyscenes_root, tmp_path):
    model = build_model('css-cross', toyscenes_root, tmp_path, rampdown_iters=200)
    for step, expected in ((0, 1.0), (50, math.exp(-5 / 16)), (100, math.exp(-1.25)),
                           (199, math.exp(-5 * 0.995**2)), (200, 0.0)):
        set_iter(step)
        assert model.rampdown() == pytest.approx(expected), step
    set_iter(0)


def test_teacher_averages_parameters_only_with_a_warming_decay_in_train_mode(
        toyscenes_root, tmp_path):
    model = build_model('css-cross', toyscenes_root, tmp_path)
    stem = model.student.backbone.stem
    teacher_stem = model.teacher.module.backbone.stem
    model.update_teacher()  # before any step: a copy
    own_mean = teacher_stem[1].running_mean.clone()
    expected = None
    # t-th update after t student steps: decay min(1 - 1/t, 0.99); buffers stay the teacher's
    for step, value in enumerate((2., 4., 6.), 1):
        with torch.no_grad():
            stem[0].weight.fill_(value)
            stem[1].running_mean.fill_(value + 10)
        model.update_teacher()
        decay = min(1 - 1 / step, 0.99)
        expected = value if expected is None else decay * expected + (1 - decay) * value
        torch.testing.assert_close(teacher_stem[0].weight,
                                   torch.full_like(teacher_stem[0].weight, expected))
        torch.testing.assert_close(teacher_stem[1].running_mean, own_mean)
    assert expected == pytest.approx(4.)  # 2, (2 + 4) / 2, 2/3 3 + 1/3 6
    averaged, source = torch.zeros(1), torch.ones(1)
    model.teacher.avg_func(averaged, source, torch.tensor(1000))
    assert averaged.item() == pytest.approx(0.01)  # decay capped at 0.99
    norms = [m for m in model.teacher.module.modules() if isinstance(m, _BatchNorm)]
    assert norms and all(m.training for m in norms)


def test_prototypes_average_raw_class_means_and_a_new_class_has_none():
    protos = ClassPrototypes(num_classes=3, dim=2, decay=0.99)
    protos.update(torch.tensor([[3., 4.], [1., 0.], [0., 2.], [9., 9.]]),
                  torch.tensor([0, 0, 1, 255]))
    torch.testing.assert_close(protos.prototypes,
                               torch.tensor([[2., 2.], [0., 2.], [0., 0.]]))  # first sight
    assert protos.initialized.tolist() == [True, True, False]
    protos.update(torch.tensor([[4., 0.], [0., -3.]]), torch.tensor([0, 2]))
    torch.testing.assert_close(protos.prototypes, torch.tensor(
        [[0.99 * 2 + 0.01 * 4, 0.99 * 2], [0., 2.], [0., -3.]]))
    fresh = ClassPrototypes(num_classes=3, dim=2)
    fresh.update(torch.tensor([[1., 0.]]), torch.tensor([0]))
    # a class without a prototype has cosine 0 to everything, so it can win (as released)
    cosines = fresh.cosines(torch.tensor([[-1., 0.]]))
    torch.testing.assert_close(cosines, torch.tensor([[-1., 0., 0.]]))


def hand_loss(**options):
    loss = PrototypeContrastLoss(num_classes=2, dim=2, rep_temperature=0.1, **options)
    loss.prototypes.prototypes.copy_(torch.tensor([[1., 0.], [0., 1.]]))
    loss.prototypes.initialized.fill_(True)
    # class 0: e (2, 0) is easy (q = 0.99995), h (3, 3) hard (q = 0.5); class 1: two pixels
    # (-2, 2), easy (q ~ 1). Embeddings (1, 2, 1, 4), raw.
    z = torch.tensor([[2., 0.], [3., 3.], [-2., 2.], [-2., 2.]], requires_grad=True)
    labels = torch.tensor([[[0, 0, 1, 1]]])
    return loss, z, loss(z.t()[None, :, None], labels)


def test_sampled_contrast_gradient_repeats_exactly_on_two_threads():
    """Anchors drawn with replacement repeat rows: their gradient must add up in a fixed order,
    or two runs (and a run and its resume) drift apart on a multi-threaded CPU."""
    generator = torch.Generator().manual_seed(0)
    embeddings = torch.randn(4, 256, 16, 16, generator=generator)
    labels = torch.randint(0, 8, (4, 16, 16), generator=generator)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        grads = []
        for _ in range(3):
            loss = PrototypeContrastLoss(num_classes=8, dim=256, hard_thresh=1.1).train()
            torch.manual_seed(1)
            z = embeddings.clone().requires_grad_()
            loss(z, labels).backward()
            grads.append(z.grad)
    finally:
        torch.set_num_threads(threads)
    for grad in grads[1:]:
        assert torch.equal(grad, grads[0])


def test_anchors_are_hard_pixels_with_replacement_and_the_mean_is_per_class_then_classes():
    loss, z, value = hand_loss(num_anchors=16, num_negatives=8)
    # prototypes after the update, from raw means (2.5, 1.5) and (-2, 2)
    protos = torch.tensor([[0.99 + 0.025, 0.015], [-0.02, 0.99 + 0.02]])
    torch.testing.assert_close(loss.prototypes.prototypes, protos)
    # class 0: every anchor is h; its 8 negatives are class-1 pixels, cos(h, n) = 0.
    # class 1 has no hard pixel: it adds 0 but counts in the mean over the 2 classes.
    positive = F.cosine_similarity(z[1], protos[0], dim=0).item() / 0.5
    per_class = [-positive + math.log(math.exp(positive) + 8), 0.0]
    assert value.item() == pytest.approx(sum(per_class) / len(per_class), rel=1e-5)
    value.backward()
    assert z.grad[1].abs().sum() > 0  # only the anchor moves: negatives are detached
    assert torch.equal(z.grad[[0, 2, 3]], torch.zeros(3, 2))


def test_all_pixel_option_contrasts_every_pixel_averaged_over_pixels():
    loss, z, value = hand_loss(contrast_pixels='all')
    protos = F.normalize(loss.prototypes.prototypes, dim=1)
    unit = F.normalize(z.detach(), dim=1)
    naive = []
    for i, label in enumerate([0, 0, 1, 1]):
        negatives = [unit[i] @ unit[j] / 0.5 for j, other in enumerate([0, 0, 1, 1])
                     if other != label]
        positive = unit[i] @ protos[label] / 0.5
        naive.append(-positive + torch.logsumexp(torch.stack([positive, *negatives]), 0))
    assert value.item() == pytest.approx(torch.stack(naive).mean().item(), rel=1e-5)


def test_negatives_are_drawn_by_prototype_similarity_then_uniformly_in_their_class():
    loss = PrototypeContrastLoss(num_classes=3, dim=2, num_anchors=256, num_negatives=512)
    # anchor class 0; class 1's prototype equals P_0 (cos 1), class 2's is opposite (cos -1)
    prototypes = torch.tensor([[1., 0.], [1., 0.], [-1., 0.]])
    labels = torch.tensor([1, 0, 2, 1, 2, 2])
    torch.manual_seed(0)
    rows = loss.sample_negatives(labels, labels.unique(), 0, prototypes)
    assert rows.shape == (256, 512)
    drawn = labels[rows]
    assert not (drawn == 0).any()
    expected = math.exp(2) / (math.exp(2) + math.exp(-2))  # softmax of cos / 0.5
    assert (drawn == 1).float().mean().item() == pytest.approx(expected, abs=0.003)
    ones = rows[drawn == 1]
    assert (ones == 0).float().mean().item() == pytest.approx(0.5, abs=0.01)
    assert set(ones.unique().tolist()) == {0, 3}


def two_class_batch(num=2):
    generator = torch.Generator().manual_seed(0)
    gt = torch.zeros(1, SIZE, SIZE, dtype=torch.long)
    gt[..., SIZE // 2:] = 1
    samples = [SegDataSample(gt_sem_seg=PixelData(data=gt.clone())) for _ in range(num)]
    box = torch.zeros(num, SIZE, SIZE, dtype=torch.bool)
    box[:, 4:20, 8:24] = True
    unlabeled = dict(weak=torch.randn(num, 3, SIZE, SIZE, generator=generator),
                     strong=[torch.randn(num, 3, SIZE, SIZE, generator=generator)],
                     cutmix_box=[box], valid=torch.ones(num, SIZE, SIZE, dtype=torch.bool))
    return torch.randn(num, 3, SIZE, SIZE, generator=generator), samples, unlabeled


def test_one_strong_view_no_perturbation_and_pre_step_representation_labels(
        toyscenes_root, tmp_path, monkeypatch):
    model = build_model('css-cross', toyscenes_root, tmp_path)
    monkeypatch.setattr(WeakToStrongSegmentor, 'perturb', lambda *args: pytest.fail('FP'))
    inputs, samples, unlabeled = two_class_batch()
    seen, protos = [], model.contrast_loss.prototypes
    extract = model.student.extract_feat
    monkeypatch.setattr(model.student, 'extract_feat',
                        lambda images: seen.append(images) or extract(images))
    logits = model.contrast_loss.representation_logits
    used = []
    monkeypatch.setattr(model.contrast_loss, 'representation_logits',
                        lambda z: used.append(protos.prototypes.clone()) or logits(z))
    set_iter(0)
    for _ in range(2):
        before = protos.prototypes.clone()
        losses = model.semi_losses(inputs, samples, unlabeled)
        torch.testing.assert_close(used[-2], before)  # teacher labels: pre-step prototypes
        assert not torch.equal(protos.prototypes, before)  # then updated in the contrast
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg', 'aux_0.loss_ce', 'aux_0.acc_seg',
                           'aux_1.loss_contrast', 'loss_u_s1', 'pseudo_ratio'}
    strong = torch.where(unlabeled['cutmix_box'][0][:, None],
                         unlabeled['strong'][0].roll(-1, 0), unlabeled['strong'][0])
    assert len(seen) == 4  # labelled images and the CutMix-ed strong view, separately
    torch.testing.assert_close(seen[0], strong)
    torch.testing.assert_close(seen[1], inputs)
    for key, value in losses.items():
        assert torch.isfinite(value), key
    assert losses['aux_1.loss_contrast'] > 0
