"""UniMatch and DSSN as released, and densecl's options, pinned by hand-computed cases."""
import math

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from PIL import Image
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.dropout import _DropoutNd

from densecl.datasets.strong_views import IMAGE_OPS, cutmix_box, random_image_ops
from densecl.models.segmentors.dssn_segmentor import masked_mse
from semi_testing import CONFIGS, build_model, set_iter, tiny_options
from teacher_student_testing import config_with_options

RELEASE_ROWS = ('unimatch', 'unimatch-ema-teacher', 'dssn', 'dssn-eval-teacher',
                'dssn-teacher-fp', 'dssn-agree-mse')
MARGIN, CLASSES, SIZE = 6.0, 8, 32  # confidence e^6 / (e^6 + 7) = 0.983
# CE of a pixel whose logits are MARGIN on one class and 0 on the 7 others.
CE_RIGHT = math.log(1 + (CLASSES - 1) * math.exp(-MARGIN))
CE_WRONG = MARGIN + CE_RIGHT


def predict_class(segmentor, label):
    """Make ``segmentor`` predict ``label`` everywhere: logits MARGIN e_label, whatever it sees."""
    conv = segmentor.decode_head.conv_seg
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        conv.bias[label] = MARGIN


def semi_batch(num_labeled=2, num_unlabeled=2):
    """Labelled images (all class 0), weak and two strong views, boxes, no padding."""
    generator = torch.Generator().manual_seed(0)

    def images(num):
        return torch.randn(num, 3, SIZE, SIZE, generator=generator)

    samples = [SegDataSample(gt_sem_seg=PixelData(
        data=torch.zeros(1, SIZE, SIZE, dtype=torch.long))) for _ in range(num_labeled)]
    box = torch.zeros(num_unlabeled, SIZE, SIZE, dtype=torch.bool)
    box[:, 4:12, 8:20] = True
    unlabeled = dict(weak=images(num_unlabeled), strong=[images(num_unlabeled) for _ in range(2)],
                     cutmix_box=[box, torch.zeros_like(box)],
                     valid=torch.ones(num_unlabeled, SIZE, SIZE, dtype=torch.bool))
    return images(num_labeled), samples, unlabeled


@pytest.mark.parametrize('name, labeller', [('unimatch', 'student'),
                                            ('unimatch-ema-teacher', 'teacher')])
def test_unimatch_pseudo_labels_come_from_the_online_model(name, labeller, toyscenes_root,
                                                           tmp_path):
    # The student predicts class 3 everywhere, the EMA teacher class 5 (both confident).
    model = build_model(name, toyscenes_root, tmp_path)
    predict_class(model.student, 3)
    predict_class(model.teacher.module, 5)
    losses = model.semi_losses(*semi_batch())
    ce = CE_RIGHT if labeller == 'student' else CE_WRONG
    for key, weight in (('loss_u_s1', 0.125), ('loss_u_s2', 0.125), ('loss_u_fp', 0.25)):
        assert losses[key].item() == pytest.approx(weight * ce, rel=1e-4), key
    assert losses['pseudo_ratio'].item() == 1


def test_unimatch_decodes_the_mix_source_in_eval_mode_and_the_rest_in_one_pass(
        toyscenes_root, tmp_path):
    model = build_model('unimatch', toyscenes_root, tmp_path)
    calls = {'student': [], 'teacher': []}
    for branch, segmentor in (('student', model.student), ('teacher', model.teacher.module)):
        segmentor.decode_head.conv_seg.register_forward_pre_hook(
            lambda module, args, branch=branch: calls[branch].append(
                (module.training, args[0].shape[0])))
    model.semi_losses(*semi_batch(num_labeled=2, num_unlabeled=3))
    # eval: the 3 CutMix sources; train: clean and perturbed (2 + 3) images in one pass, then
    # the 2 x 3 strong views. The EMA model never labels anything.
    assert calls == {'student': [(False, 3), (True, 2 * 5), (True, 2 * 3)], 'teacher': []}
    assert model.student.training


@pytest.mark.parametrize('fp_targets', ['student', 'teacher'])
def test_dssn_strong_views_labelled_by_the_teacher_fp_views_by_the_student(
        fp_targets, toyscenes_root, tmp_path):
    model = build_model('dssn', toyscenes_root, tmp_path, fp_targets=fp_targets)
    predict_class(model.student, 3)
    predict_class(model.teacher.module, 5)
    set_iter(1)
    losses = model.semi_losses(*semi_batch())
    fp_ce = CE_RIGHT if fp_targets == 'student' else CE_WRONG
    for key, ce in (('loss_u_s1', CE_WRONG), ('loss_u_s2', CE_WRONG), ('loss_u_fp1', fp_ce),
                    ('loss_u_fp2', fp_ce)):
        assert losses[key].item() == pytest.approx(0.125 * ce, rel=1e-4), key
    # every view predicts the same constant logits: nothing to make consistent
    assert losses['loss_u_siamese_s'].item() == losses['loss_u_siamese_fp'].item() == 0
    set_iter(0)  # the release's teacher is a random network at its first step: no strong CE
    losses = model.semi_losses(*semi_batch())
    assert losses['loss_u_s1'].item() == losses['loss_u_s2'].item() == 0
    assert losses['loss_u_fp1'].item() == pytest.approx(0.125 * fp_ce, rel=1e-4)


def test_dssn_selects_on_the_cutmixed_teacher_probabilities(toyscenes_root, tmp_path):
    model = build_model('dssn', toyscenes_root, tmp_path)
    # two images of 1 x 3 pixels, 2 classes; probabilities of class 1 (class 0: 1 - p)
    class1 = torch.tensor([[0.30, 0.99, 0.50], [0.10, 0.20, 0.94]])
    probs = torch.stack([1 - class1, class1], 1)[:, :, None]  # (2, 2, 1, 3)
    valid = torch.ones(2, 1, 3, dtype=torch.bool)
    box = torch.tensor([[False, False, True], [False, False, False]])[:, None]
    targets = model.pseudo_targets(probs, valid, None, None, None, None)
    labels, keep, mixed_valid = model.strong_targets(box, probs, probs, valid, targets,
                                                     targets)[:3]
    # Image 0 takes pixel 2 of image 1 (class 1 at 0.94). In the mixed image 0 the class-1
    # peak is 0.99, so t = 0.96 * 0.99 = 0.9504 drops it (image 1 alone, peak 0.94, t = 0.9024,
    # would keep it); class 0 peaks at 0.70 <= 0.92, so t = 0.70 keeps no pixel (strict >).
    # Image 1: class 1 peak 0.94 keeps 0.94; class 0 peak 0.90 keeps nothing.
    assert labels.squeeze(1).tolist() == [[0, 1, 1], [0, 0, 1]]
    assert keep.squeeze(1).tolist() == [[False, True, False], [False, False, True]]
    assert mixed_valid.all()


@pytest.mark.parametrize('pixels, expected', [('all', 39 / 14 / 2), ('agree', 0.0)])
def test_dssn_strong_mse_over_every_pixel_with_the_unbiased_std(pixels, expected,
                                                                toyscenes_root, tmp_path):
    # One image of 1 x 2 pixels, 4 classes. Pixel 0: logits (1, 2, 3, 6) against (6, 3, 2, 1),
    # standardised differences (-5, -1, 1, 5) / sqrt(14 / 3), squared mean 52 / 4 * 3 / 14 =
    # 39 / 14 (the population std would give 52 / 14); its CutMix boxes differ. Pixel 1:
    # equal logits. 'all' averages both pixels, 'agree' only pixel 1.
    model = build_model('dssn', toyscenes_root, tmp_path, siamese_pixels=pixels)
    set_iter(1)
    first = torch.tensor([[1., 2., 3., 6.], [1., 1., 2., 0.]]).T[None, :, None]
    second = torch.tensor([[6., 3., 2., 1.], [1., 1., 2., 0.]]).T[None, :, None]
    nothing = torch.zeros(1, 1, 2, dtype=torch.bool)
    unlabeled = dict(cutmix_box=[torch.tensor([[[True, False]]]), nothing],
                     valid=torch.ones(1, 1, 2, dtype=torch.bool))
    mixed = [[torch.zeros(1, 1, 2, dtype=torch.long), nothing, unlabeled['valid']]] * 2
    losses = model.strong_losses([first, second], mixed, unlabeled)
    assert losses['loss_u_siamese_s'].item() == pytest.approx(0.005 * expected, rel=1e-4)
    assert masked_mse(first, second, torch.ones(1, 1, 2)).item() == pytest.approx(
        39 / 14 / 2, rel=1e-4)


def student_state(model, value):
    """Fill the student's stem conv with ``value`` and its first BN mean with ``value + 1``."""
    with torch.no_grad():
        model.student.backbone.stem[0].weight.fill_(value)
        model.student.backbone.stem[1].running_mean.fill_(value + 1)


def teacher_state(model):
    stem = model.teacher.module.backbone.stem
    return stem[0].weight.flatten()[0].item(), stem[1].running_mean[0].item()


def test_dssn_teacher_copies_the_student_after_its_first_step_then_decays_at_0996(
        toyscenes_root, tmp_path):
    model = build_model('dssn', toyscenes_root, tmp_path)
    for value in (1., 2.):  # our first update precedes any step; the release copies after one
        student_state(model, value)
        model.update_teacher()
        assert teacher_state(model) == pytest.approx((value, value + 1))
    student_state(model, 4.)
    model.update_teacher()
    assert teacher_state(model) == pytest.approx((0.996 * 2 + 0.004 * 4, 0.996 * 3 + 0.004 * 5))


@pytest.mark.parametrize('buffers, mean', [('ema', 0.99 * 2 + 0.01 * 3), ('copy', 3.),
                                           ('own', 2.)])
def test_teacher_buffer_options(buffers, mean, toyscenes_root, tmp_path):
    model = build_model('supervised', toyscenes_root, tmp_path, teacher_buffers=buffers)
    for value in (1., 2.):
        student_state(model, value)
        model.update_teacher()
    assert teacher_state(model) == pytest.approx((0.99 * 1 + 0.01 * 2, mean))


def test_train_mode_teacher_normalises_with_its_batch_and_keeps_dropout_off(
        toyscenes_root, tmp_path):
    model = build_model('dssn', toyscenes_root, tmp_path)
    teacher = model.teacher.module
    norms = [m for m in teacher.modules() if isinstance(m, _BatchNorm)]
    dropouts = [m for m in teacher.modules() if isinstance(m, _DropoutNd)]
    assert norms and dropouts
    assert all(m.training for m in norms) and not any(m.training for m in dropouts)
    bn = teacher.backbone.stem[1]
    seen = []
    bn.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach()))
    before = bn.running_mean.clone()
    model.teacher_outputs(torch.randn(2, 3, SIZE, SIZE))
    batch_mean = seen[0].mean((0, 2, 3))
    torch.testing.assert_close(bn.running_mean, 0.9 * before + 0.1 * batch_mean)
    model.eval()
    assert not any(m.training for m in norms)
    assert not build_model('dssn-eval-teacher', toyscenes_root, tmp_path).teacher.module.training


def test_rejection_sampled_cutmix_boxes_keep_their_area():
    # Area fixed at 0.6 of a 20 x 20 image, s = 240. Unclamped sides are floors of
    # sqrt(s / a) and sqrt(s a), so w h <= s < (w + 1)(h + 1); clamping a side of an extreme
    # aspect to 20 breaks the right inequality (e.g. a = 0.4: 20 x 9, 21 x 10 < 240).
    rng = np.random.default_rng(0)
    for sampling, fits in (('rejection', True), ('clamp', False)):
        sides = []
        for _ in range(200):
            box = cutmix_box(20, 20, rng, prob=1.0, area=(0.6, 0.6), sampling=sampling)
            rows, cols = box.any(1).sum(), box.any(0).sum()
            sides.append((rows, cols))
            assert box.sum() == rows * cols <= 240
        assert all(240 < (h + 1) * (w + 1) for h, w in sides) == fits, sampling
    with pytest.raises(ValueError, match='fits no aspect ratio'):
        cutmix_box(4, 100, rng, prob=1.0, sampling='rejection')


class ScriptedRng:
    """Stands in for numpy's Generator: every draw returns the next scripted value."""

    def __init__(self, *draws):
        self.draws = list(draws)

    def random(self):
        return self.draws.pop(0)

    def integers(self, *args):
        return self.draws.pop(0)

    uniform = integers


def test_dssn_image_ops_and_their_magnitudes_by_hand():
    assert sorted(IMAGE_OPS) == sorted([
        'identity', 'autocontrast', 'equalize', 'blur', 'contrast', 'brightness', 'color',
        'sharpness', 'posterize', 'solarize', 'hue'])
    gray = np.array([[[200, 200, 200], [100, 100, 100]]], dtype=np.uint8)
    brightness = list(IMAGE_OPS).index('brightness')
    # 2 ops, brightness twice (drawn with replacement), factor 0.95 - 0.9 * 0.5 = 0.5 each
    twice = random_image_ops(gray, ScriptedRng(2, [brightness] * 2, 0.5, 0.5), max_ops=3)
    assert twice[..., 0].tolist() == [[50, 25]]
    image = Image.fromarray(np.array([[[255, 130, 200]]], dtype=np.uint8))
    # posterize: 8 - ceil(4 * 0.5) = 6 bits; solarize: threshold 256 - ceil(255 * 0.5) = 128
    posterized = IMAGE_OPS['posterize'](image, ScriptedRng(0.5))
    assert list(posterized.getpixel((0, 0))) == [252, 128, 200]
    solarized = IMAGE_OPS['solarize'](image, ScriptedRng(0.5))
    assert list(solarized.getpixel((0, 0))) == [0, 125, 55]
    red = Image.fromarray(np.array([[[255, 0, 0]]], dtype=np.uint8))
    # hue factor +-0.5 * 0.5: int(+-63.75) = +-63 steps of PIL's 256-step hue circle
    for sign_draw, hue in ((0.7, 63), (0.2, 256 - 63)):
        shifted = IMAGE_OPS['hue'](red, ScriptedRng(0.5, sign_draw)).convert('HSV')
        assert abs(shifted.getpixel((0, 0))[0] - hue) <= 1


def test_release_configs_set_the_release_options():
    unimatch, dssn = (Config.fromfile(CONFIGS[name]) for name in ('unimatch', 'dssn'))
    for cfg in (unimatch, dssn):
        views = cfg.train_dataloader.dataset.unlabeled.pipeline[4]
        assert views.cutmix_sampling == 'rejection'
        assert cfg.model.segmentor.decode_head.loss_decode.avg_non_ignore
        assert cfg.model.joint_decode
    assert unimatch.model.teacher_type == 'online' and unimatch.model.predict_on == 'student'
    assert dssn.train_dataloader.dataset.unlabeled.pipeline[4].num_image_ops == 3
    model = dssn.model
    assert (model.teacher_momentum, model.teacher_mode, model.teacher_warmup, model.fp_targets,
            model.siamese_pixels) == (0.004, 'train', 2, 'student', 'all')


@pytest.mark.parametrize('name', RELEASE_ROWS)
def test_every_loss_term_is_logged_and_alive(name, toyscenes_root, tmp_path):
    """Every UniMatch and DSSN loss term is logged and nonzero at some iteration of a real run."""
    # Thresholds opened so that a 3-iteration network keeps pseudo-labels; every loss term
    # must then be non-zero at some iteration (a term that stays 0 is a wiring defect).
    options = tiny_options(CONFIGS[name], toyscenes_root)
    options['model.conf_thresh' if 'unimatch' in name else 'model.high'] = 0.0
    runner = Runner.from_cfg(config_with_options(CONFIGS[name], options, str(tmp_path)))
    runner.train()
    logged = {key[len('train/'):]: buffer.data[0] for key, buffer in
              runner.message_hub.log_scalars.items()
              if key.startswith('train/') and 'loss' in key and key != 'train/loss'}
    unlabelled = ['loss_u_s1', 'loss_u_s2'] + (
        ['loss_u_fp'] if 'unimatch' in name else
        ['loss_u_fp1', 'loss_u_fp2', 'loss_u_siamese_s', 'loss_u_siamese_fp'])
    assert sorted(logged) == sorted(['decode.loss_ce', 'aux.loss_ce', *unlabelled])
    for key, values in logged.items():
        assert np.any(values != 0), f'{key} is 0 at every iteration'
