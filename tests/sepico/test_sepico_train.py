"""Few-iteration training of every configs/sepico config, and the bad-input errors."""
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import DATASETS, MODELS

from sepico_testing import CONFIGS, tiny_config


@pytest.mark.parametrize('name', list(CONFIGS))
def test_three_iterations_train_and_evaluate_on_target(name, toyscenes_root, tmp_path):
    """Each SePiCo config trains 3 iterations, validates on target_val, fills its statistics."""
    runner = Runner.from_cfg(tiny_config(CONFIGS[name], toyscenes_root, str(tmp_path)))
    runner.train()
    hub = runner.message_hub
    for branch in ('student', 'teacher'):
        assert 0 <= hub.get_scalar(f'val/{branch}/mIoU').current() <= 100
    losses = set(hub.log_scalars)
    assert 'train/decode.loss_ce' in losses
    assert ('train/mix.loss_ce' in losses) == (name != 'source-only')
    contrast = {'train/src.loss_contrast', 'train/tgt.loss_contrast'}
    assert contrast <= losses if name.startswith('sepico') else not contrast & losses
    assert runner.val_dataloader.dataset.data_prefix['img_path'].endswith('target_val')
    model = runner.model
    if name.startswith('sepico'):
        stats = model.statistics
        # at most one centroid per step (C5 of a 32 x 32 crop is 2 x 2: few pure cells)
        assert stats.count.sum() > 0 and 1 <= stats.bank_size.max() <= 3
        assert (stats.var[stats.seen] >= 0).all()


def test_teacher_decay_follows_min_of_warmup_and_alpha(toyscenes_root, tmp_path):
    """mmengine momentum max(1 - alpha, 1 / (t + 1)) is the release's decay
    min(1 - 1/(t+1), alpha)."""
    init_default_scope('mmseg')
    cfg = tiny_config(CONFIGS['source-only'], toyscenes_root, str(tmp_path))
    model = MODELS.build(cfg.model)
    conv = model.student.backbone.stem[0].weight
    teacher_conv = model.teacher.module.backbone.stem[0].weight
    for step, value in enumerate([1., 2., 3.]):
        with torch.no_grad():
            conv.fill_(value)
        model.teacher.update_parameters(model.student)
    # t = 0 copies (1); t = 1: decay 0.5 -> 1.5; t = 2: decay 2/3 -> 2/3 * 1.5 + 1/3 * 3 = 2
    torch.testing.assert_close(teacher_conv, torch.full_like(conv, 2.))
    model.teacher.steps.fill_(5000)
    with torch.no_grad():
        conv.fill_(1002.)
    model.teacher.update_parameters(model.student)  # decay alpha = 0.999
    torch.testing.assert_close(teacher_conv, torch.full_like(conv, 0.999 * 2 + 0.001 * 1002))


def test_source_and_target_with_other_classes_fail_with_both_lists(toyscenes_root, tmp_path):
    init_default_scope('mmseg')
    cfg = tiny_config(CONFIGS['self-training'], toyscenes_root, str(tmp_path))
    dataset = cfg.train_dataloader.dataset
    dataset.target.metainfo = dict(classes=('background', 'sky', 'ring'))  # a subset
    with pytest.raises(ValueError, match='different classes') as error:
        DATASETS.build(dataset)
    message = str(error.value)
    assert "target (ToyScenesDataset) ['background', 'sky', 'ring']" in message
    assert "'disc', 'square', 'triangle', 'ring', 'cross', 'star']" in message


def test_contrast_start_past_max_iters_warns(toyscenes_root, tmp_path):
    """Training warns when contrast_start_iter is at or past max_iters: contrast never runs."""
    cfg = tiny_config(CONFIGS['sepico-proto'], toyscenes_root, str(tmp_path), iters=1)
    cfg.model.contrast_start_iter = 5
    with pytest.warns(UserWarning, match='contrast_start_iter=5 >= max_iters=1'):
        Runner.from_cfg(cfg).train()


def test_segmentor_checkpoint_of_another_model_fails_with_its_keys(toyscenes_root, tmp_path):
    init_default_scope('mmseg')
    cfg = tiny_config(CONFIGS['sepico-dist'], toyscenes_root, str(tmp_path))
    source_only = MODELS.build(tiny_config(CONFIGS['source-only'], toyscenes_root,
                                           str(tmp_path)).model)
    path = str(tmp_path / 'source_only.pth')
    torch.save({'state_dict': source_only.state_dict()}, path)
    # the source-only model has no projection head: the keys are named
    cfg.model.init_checkpoint = path
    model = MODELS.build(cfg.model)
    with pytest.raises(ValueError, match='auxiliary_head.convs.0.conv.weight') as error:
        model.init_weights()
    assert 'does not fit the student' in str(error.value)
    # naming the projection head as new: the rest loads, the teacher copies the student
    cfg.model.init_new_modules = ('auxiliary_head', )
    adapted = MODELS.build(cfg.model)
    adapted.init_weights()
    torch.testing.assert_close(adapted.student.backbone.stem[0].weight,
                               source_only.student.backbone.stem[0].weight)
    for key, value in adapted.teacher.module.state_dict().items():
        torch.testing.assert_close(value, adapted.student.state_dict()[key])
    cfg.model.init_new_modules = ()
    # a checkpoint of the same architecture loads into student and EMA teacher
    same = MODELS.build(cfg.model)
    torch.save({'state_dict': same.state_dict()}, path)
    model.init_weights()
    for branch in (model.student, model.teacher.module):
        torch.testing.assert_close(branch.backbone.stem[0].weight,
                                   same.student.backbone.stem[0].weight)


def test_contrast_needs_a_projection_head(toyscenes_root, tmp_path):
    init_default_scope('mmseg')
    cfg = tiny_config(CONFIGS['sepico-proto'], toyscenes_root, str(tmp_path))
    cfg.model.segmentor.auxiliary_head = None
    with pytest.raises(ValueError, match='SePiCoProjectionHead'):
        MODELS.build(cfg.model)
    MessageHub.get_current_instance().update_info('iter', 0)
