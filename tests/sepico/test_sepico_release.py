"""SePiCoSegmentor's training step as SePiCo's release runs it, pinned on hand-built batches."""
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from densecl.models.heads import SePiCoProjectionHead
from densecl.models.segmentors import sepico_segmentor
from densecl.models.utils import color_jitter, dacs_blur, rotate_hue
from densecl.models.utils.semi import batch_class_mix_masks
from sepico_testing import CONFIGS, tiny_config

SIZE = 32


def build(name, root, tmp_path, **model_options):
    init_default_scope('mmseg')
    cfg = tiny_config(CONFIGS[name], root, str(tmp_path))
    cfg.model.update(model_options)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.update_teacher()  # the first update copies the student
    return model.train()


def batch(seed=0):
    """Normalised source / target images (2 each) and source labels in 16 x 16 blocks."""
    generator = torch.Generator().manual_seed(seed)
    source = torch.randn(2, 3, SIZE, SIZE, generator=generator)
    target = torch.randn(2, 3, SIZE, SIZE, generator=generator)
    blocks = torch.randint(0, 8, (2, 2, 2), generator=generator)
    labels = blocks.repeat_interleave(16, 1).repeat_interleave(16, 2)
    samples = [SegDataSample(gt_sem_seg=PixelData(data=label[None])) for label in labels]
    unlabeled = dict(weak=target, valid=torch.ones(2, SIZE, SIZE, dtype=torch.bool))
    return source, samples, unlabeled, labels


def at_iter(iteration):
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', iteration)
    hub.update_info('max_iters', 100)


def record_inputs(module, calls):
    return module.register_forward_pre_hook(lambda _, args: calls.append(args[0]))


def inputs_of_one_step(model, submodule, batch_):
    """The inputs the student's and the teacher's ``submodule`` see in one step at iteration 5."""
    student_calls, teacher_calls = [], []
    handles = [record_inputs(getattr(model.student, submodule), student_calls),
               record_inputs(getattr(model.teacher.module, submodule), teacher_calls)]
    at_iter(5)
    model.semi_losses(*batch_)
    for handle in handles:
        handle.remove()
    return student_calls, teacher_calls


@pytest.mark.parametrize('name, batch_statistics', [('sepico-proto', True),
                                                    ('sepico-proto-eval-teacher', False),
                                                    ('self-training', True)])
def test_teacher_bn_normalises_with_the_batch_statistics(name, batch_statistics, toyscenes_root,
                                                         tmp_path):
    model = build(name, toyscenes_root, tmp_path)
    stem = model.teacher.module.backbone.stem
    conv, bn = stem[0], stem[1]
    seen = {}
    handle = bn.register_forward_hook(lambda m, args, out: seen.update(io=(args[0], out.clone())))
    with torch.no_grad():
        bn.running_mean.fill_(3.)  # far from any batch mean: the two normalisations differ
        bn.running_var.fill_(5.)
        bn.weight.uniform_(0.5, 2)
        bn.bias.uniform_(-1, 1)
    _, _, unlabeled, _ = batch()
    model.pseudo_labels(unlabeled['weak'], unlabeled['valid'])
    handle.remove()
    x, out = seen['io']
    torch.testing.assert_close(x, conv(unlabeled['weak']).detach())
    if batch_statistics:
        mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False)
    else:
        mean, var = torch.full_like(bn.running_mean, 3.), torch.full_like(bn.running_var, 5.)
    expected = (x - mean[:, None, None]) / (var[:, None, None] + bn.eps).sqrt()
    expected = expected * bn.weight[:, None, None] + bn.bias[:, None, None]
    torch.testing.assert_close(out, expected)
    assert not model.teacher.module.decode_head.dropout.training  # dropout off either way


@pytest.mark.parametrize('name, stages', [('sepico-proto', 4), ('sepico-proto-decoder-proj', 1)])
def test_projection_reads_backbone_features(name, stages, toyscenes_root, tmp_path):
    model = build(name, toyscenes_root, tmp_path, strong_aug=None)
    source, samples, unlabeled, _ = batch()
    student_calls, teacher_calls = inputs_of_one_step(model, 'auxiliary_head',
                                                      (source, samples, unlabeled))
    assert [len(c) for c in teacher_calls + student_calls] == [stages] * 3  # stats, src, tgt
    with torch.no_grad():
        student_feats = model.student.extract_feat(source)
        teacher_feats = model.teacher.module.extract_feat(source)
    if stages == 4:  # the backbone's stages; the head keeps C5 (in_index 3)
        for got, want in zip(student_calls[0], student_feats):
            torch.testing.assert_close(got, want)
        for got, want in zip(teacher_calls[0], teacher_feats):
            torch.testing.assert_close(got, want)
        assert model.student.auxiliary_head.select(student_feats) is student_feats[3]
    else:  # the decoder features: the decode head's channels, stride 4
        assert student_calls[0][0].shape == (2, 16, SIZE // 4, SIZE // 4)


def test_projection_head_concatenates_resized_stages():
    head = SePiCoProjectionHead(in_channels=6, channels=4, in_index=[0, 1])
    assert head.convs[0].conv.out_channels == 3  # in_channels / len(in_index), as released
    small = torch.rand(1, 2, 1, 2)
    big = torch.ones(1, 4, 2, 4)
    selected = head.select([big, small])
    assert selected.shape == (1, 6, 2, 4)
    torch.testing.assert_close(selected[:, :4], big)
    assert head(([big, small])).norm(dim=1).allclose(torch.ones(1, 2, 4))


def test_student_source_is_jittered_and_teacher_sees_plain_images(toyscenes_root, tmp_path):
    model = build('sepico-proto', toyscenes_root, tmp_path,
                  strong_aug=dict(jitter_strength=0.2, jitter_prob=1.0, blur_prob=1.0))
    source, samples, unlabeled, _ = batch()
    student, teacher = inputs_of_one_step(model, 'backbone', (source, samples, unlabeled))
    target = unlabeled['weak']
    # teacher: plain target (pseudo-labels), plain source (class statistics)
    assert len(teacher) == 2
    torch.testing.assert_close(teacher[0], target)
    torch.testing.assert_close(teacher[1], source)
    # student: augmented source, augmented target, augmented mix
    assert len(student) == 3
    for seen, plain in ((student[0], source), (student[1], target)):
        assert seen.shape == plain.shape and (seen - plain).abs().mean() > 1e-2


def test_mix_of_plain_images_is_augmented_after_mixing(toyscenes_root, tmp_path, monkeypatch):
    model = build('self-training', toyscenes_root, tmp_path,
                  strong_aug=dict(jitter_strength=0.2, jitter_prob=1.0, blur_prob=1.0))
    source, samples, unlabeled, labels = batch()
    mask = torch.zeros(2, SIZE, SIZE, dtype=torch.bool)
    mask[:, :, :10] = True
    monkeypatch.setattr(sepico_segmentor, 'batch_class_mix_masks', lambda _: mask)
    augmented, student = [], []
    augment = model.augment

    def recording_augment(images, flips):
        out = augment(images, flips)
        augmented.append((images, out))
        return out

    monkeypatch.setattr(model, 'augment', recording_augment)
    handle = record_inputs(model.student.backbone, student)
    at_iter(5)
    model.semi_losses(source, samples, unlabeled)
    handle.remove()
    target = unlabeled['weak']
    plain_mix = torch.where(mask[:, None], source, target)
    assert len(augmented) == 2  # the source, then the mix
    torch.testing.assert_close(augmented[0][0], source)
    torch.testing.assert_close(augmented[1][0], plain_mix)
    torch.testing.assert_close(student[1], augmented[1][1])  # the student learns the augmented mix
    assert (student[1] - plain_mix).abs().mean() > 1e-2


def test_class_mix_draws_half_of_the_batch_label_values():
    # images 0-2 hold one class each: drawing from the image's own classes would paste them
    # always; drawing 2 of the batch's 4 values pastes each with probability 1/2. Image 3 holds
    # all 4 values (the ignore value is a candidate too, as torch.unique(labels) released).
    labels = torch.arange(4).view(4, 1, 1).expand(4, 2, 2).clone()
    labels[3] = torch.tensor([[0, 1], [2, 255]])
    torch.manual_seed(0)
    pasted = []
    for _ in range(40):
        masks = batch_class_mix_masks(labels)
        for mask in masks[:3]:  # whole images in or out
            assert mask.all() or not mask.any()
        assert masks[3].sum() == 2  # ceil(4 / 2) of the batch's values
        pasted.append(torch.stack([masks[0, 0, 0], masks[1, 0, 0], masks[2, 0, 0],
                                   masks[3, 1, 1]]))  # images 0-2, and image 3's ignored pixel
    pasted = torch.stack(pasted)
    assert pasted.any(0).all() and (~pasted).any(0).all()  # each in and out sometimes


def test_target_contrast_ignores_pixels_of_weight_zero(toyscenes_root, tmp_path, monkeypatch):
    model = build('sepico-proto', toyscenes_root, tmp_path, pseudo_threshold=0.,
                  pseudo_weight_ignore_top=8, pseudo_weight_ignore_bottom=4, strong_aug=None)
    source, samples, unlabeled, labels = batch()
    contrasted = []
    monkeypatch.setattr(model, 'contrast', lambda inputs, maps: contrasted.append(maps) or
                        torch.zeros(()))
    at_iter(5)
    model.semi_losses(source, samples, unlabeled)
    pseudo, weight = model.pseudo_labels(unlabeled['weak'], unlabeled['valid'])
    assert weight[:, 8:-4].eq(1).all() and weight[:, :8].eq(0).all() and weight[:, -4:].eq(0).all()
    source_maps, target_maps = contrasted
    assert torch.equal(source_maps, labels)
    assert target_maps[:, :8].eq(255).all() and target_maps[:, -4:].eq(255).all()
    assert torch.equal(target_maps[:, 8:-4], pseudo[:, 8:-4])
    # no confident pixel: the weight is 0 everywhere and no target pixel is contrasted
    model.pseudo_threshold = 1.01
    contrasted.clear()
    model.semi_losses(source, samples, unlabeled)
    assert contrasted[1].eq(255).all()


def test_contrast_is_off_before_its_start_iteration(toyscenes_root, tmp_path):
    model = build('sepico-proto', toyscenes_root, tmp_path, contrast_start_iter=3)
    source, samples, unlabeled, _ = batch()
    at_iter(2)
    losses = model.semi_losses(source, samples, unlabeled)
    assert not any('contrast' in key for key in losses)
    assert model.statistics.count.sum() > 0  # the class statistics are updated from the start
    at_iter(3)
    losses = model.semi_losses(source, samples, unlabeled)
    for key in ('src.loss_contrast', 'tgt.loss_contrast'):
        assert key in losses and losses[key].isfinite()
    assert losses['src.loss_contrast'] > 0


def test_colour_jitter_and_blur_keep_what_they_should():
    torch.manual_seed(0)
    images = torch.rand(3, 3, 8, 8)
    gray = images[:, :1].expand(-1, 3, -1, -1)
    # a hue rotation leaves grey images and full turns unchanged, and moves colours
    torch.testing.assert_close(rotate_hue(gray, torch.tensor([0.1, 0.3, -0.2])), gray)
    torch.testing.assert_close(rotate_hue(images, torch.ones(3)), images, atol=1e-5, rtol=0)
    assert not rotate_hue(images, torch.full((3, ), 0.25)).allclose(images, atol=1e-2)
    jittered = color_jitter(images, 0.2)
    assert jittered.min() >= 0 and jittered.max() <= 1 and not jittered.allclose(images)
    # blur: an odd kernel of about a tenth of the height keeps constant images
    flat = torch.full((2, 3, 32, 32), 0.7)
    torch.testing.assert_close(dacs_blur(flat), flat)
    assert not dacs_blur(images.repeat(1, 1, 4, 4)).allclose(images.repeat(1, 1, 4, 4))
