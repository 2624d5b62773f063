"""Few-iteration training of every configs/semi config, resume equality, 2-process gloo run."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmengine.structures import PixelData

from semi_testing import CONFIGS, tiny_config, tiny_options
from teacher_student_testing import ROOT, cli

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from test_dist_train import DRIVER, free_port  # noqa: E402


@pytest.mark.parametrize('name', list(CONFIGS))
def test_three_iterations_report_student_and_teacher(name, toyscenes_root, tmp_path):
    """Each semi config trains 3 iterations, logging its losses and student and teacher mIoU."""
    runner = Runner.from_cfg(tiny_config(CONFIGS[name], toyscenes_root, str(tmp_path)))
    runner.train()
    hub = runner.message_hub
    for branch in ('student', 'teacher'):
        assert 0 <= hub.get_scalar(f'val/{branch}/mIoU').current() <= 100
    losses = hub.log_scalars
    assert 'train/decode.loss_ce' in losses
    if name != 'supervised':
        assert 'train/loss_u_s1' in losses and 'train/pseudo_ratio' in losses


def test_teacher_is_an_ema_of_the_student(toyscenes_root, tmp_path):
    init_default_scope('mmseg')
    cfg = tiny_config(CONFIGS['supervised'], toyscenes_root, str(tmp_path))
    model = MODELS.build(cfg.model)
    sample = SegDataSample(gt_sem_seg=PixelData(data=torch.zeros(1, 32, 32, dtype=torch.long)))
    MessageHub.get_current_instance().update_info('iter', 0)

    def step():
        model.loss(torch.randn(2, 3, 32, 32), [sample, sample])

    conv = 'backbone.stem.0.weight'
    bn_mean = 'backbone.stem.1.running_mean'
    bn_count = 'backbone.stem.1.num_batches_tracked'
    # the update runs at the start of a step: the first copies the student as it was then
    student = {k: v.clone() for k, v in model.student.state_dict().items()}
    step()
    teacher = {k: v.clone() for k, v in model.teacher.module.state_dict().items()}
    for key in (conv, bn_mean):
        torch.testing.assert_close(teacher[key], student[key])
    with torch.no_grad():  # a new student: 2 everywhere in the conv, 3 in the BN mean
        model.student.backbone.stem[0].weight.fill_(2.)
        model.student.backbone.stem[1].running_mean.fill_(3.)
    model.student.eval()  # keep the BN statistics as set during the next forward
    step()
    new = model.teacher.module.state_dict()
    torch.testing.assert_close(new[conv], 0.99 * teacher[conv] + 0.01 * 2.)
    torch.testing.assert_close(new[bn_mean], 0.99 * teacher[bn_mean] + 0.01 * 3.)
    assert torch.equal(new[bn_count], teacher[bn_count])  # integer buffers are not averaged
    assert not model.teacher.module.training


def test_resume_restores_student_teacher_optimizer_and_prototypes(toyscenes_root, tmp_path):
    """Resume at iteration 2 gives the straight run's student, teacher, prototypes and AdamW."""
    config = CONFIGS['css-cross']
    straight = Runner.from_cfg(tiny_config(config, toyscenes_root, str(tmp_path / 'a'), 4))
    straight.train()
    first = tiny_config(config, toyscenes_root, str(tmp_path / 'b'), 4)
    first.train_cfg.max_iters = 2
    first.default_hooks.checkpoint.interval = 2
    Runner.from_cfg(first).train()
    resumed_cfg = tiny_config(config, toyscenes_root, str(tmp_path / 'b'), 4)
    resumed_cfg.resume = True
    resumed_cfg.load_from = str(tmp_path / 'b' / 'iter_2.pth')
    resumed = Runner.from_cfg(resumed_cfg)
    resumed.train()
    expected, actual = straight.model.state_dict(), resumed.model.state_dict()
    assert any('prototypes.prototypes' in k for k in expected)
    assert any(k.startswith('teacher.module.') for k in expected)
    for key, value in expected.items():
        torch.testing.assert_close(actual[key], value, msg=key)
    optimizer_states = [r.optim_wrapper.state_dict()['state'] for r in (straight, resumed)]
    for key, state in optimizer_states[0].items():
        torch.testing.assert_close(optimizer_states[1][key]['exp_avg'], state['exp_avg'])


def test_two_processes_hold_identical_students_teachers_and_prototypes(toyscenes_root, tmp_path):
    """Two gloo ranks of dist_train.sh end with identical students, teachers and prototypes."""
    tools = tmp_path / 'tools'
    tools.mkdir()
    (tools / 'dist_train.sh').write_text(open(osp.join(ROOT, 'tools', 'dist_train.sh')).read())
    # the rank dumps hold every parameter (teacher included) and the prototypes
    driver = DRIVER.replace("'_bank.' in name", "'prototypes.' in name")
    (tools / 'train.py').write_text(driver.format(train=osp.join(ROOT, 'tools', 'train.py')))
    config = CONFIGS['css-cross']
    env = dict(os.environ, PORT=str(free_port()), PYTHON=sys.executable, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([ROOT, os.environ.get('PYTHONPATH', '')]))
    result = subprocess.run(
        ['bash', str(tools / 'dist_train.sh'), config, '2', '--work-dir', str(tmp_path / 'work'),
         '--cfg-options', *cli(tiny_options(config, toyscenes_root))],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'teacher/mIoU' in log
    ranks = [torch.load(tmp_path / 'work' / f'rank{rank}.pth') for rank in (0, 1)]
    assert any(name.startswith('teacher.') for name in ranks[0])
    assert any('prototypes.' in name for name in ranks[0])
    for name, value in ranks[0].items():
        torch.testing.assert_close(ranks[1][name], value, rtol=0, atol=0, msg=name)
