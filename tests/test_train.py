"""Few-iteration train / resume / test runs of the quickstart config."""
import json
import os
import os.path as osp
import re
import shutil
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from densecl.engine import check_config, work_dir_lock
from densecl.engine.work_dir_lock import LOCK_NAME

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs/quickstart/fcn_r18-d16_1k_toyscenes-128x128.py')
SCORE = re.compile(r'mIoU: \d')  # the evaluator's result line

# A narrow ResNet-18 and small heads so that a few iterations take seconds.
TINY = {
    'model.backbone.stem_channels': 16,
    'model.backbone.base_channels': 8,
    'model.backbone.init_cfg': None,  # narrow: no pretrained weights fit
    'model.decode_head.in_channels': 64,
    'model.decode_head.channels': 16,
    'model.decode_head.dropout_ratio': 0,
    'model.auxiliary_head.in_channels': 32,
    'model.auxiliary_head.channels': 8,
    'model.auxiliary_head.dropout_ratio': 0,
    'train_dataloader.batch_size': 2,
    'default_hooks.logger.interval': 1,
}
for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
    TINY[f'{loader}.num_workers'] = 0
    TINY[f'{loader}.persistent_workers'] = False


def cli_options(options):
    return [f'{key}={value}' for key, value in options.items()]


@pytest.fixture(scope='module')
def data_root(toyscenes_root):
    return toyscenes_root


def data_options(data_root):
    return {f'{loader}.dataset.data_root': data_root
            for loader in ('train_dataloader', 'val_dataloader',
                           'test_dataloader')}


def run_tool(*args):
    result = subprocess.run([sys.executable, *args], cwd=ROOT,
                            capture_output=True, text=True)
    return result


def tiny_config(data_root, work_dir, max_iters):
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict({**TINY, **data_options(data_root)})
    # no random augmentation, so an interrupted run can match a straight one
    cfg.train_dataloader.dataset.pipeline = cfg.test_pipeline
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = 100
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.checkpoint.max_keep_ckpts = 3
    cfg.work_dir = work_dir
    check_config(cfg)
    return cfg


def test_resume_loses_nothing(data_root, tmp_path):
    """Resuming at iteration 2 ends with the straight run's weights and AdamW state."""
    straight = Runner.from_cfg(tiny_config(data_root, str(tmp_path / 'a'), 4))
    straight.train()

    interrupted = tiny_config(data_root, str(tmp_path / 'b'), 2)
    Runner.from_cfg(interrupted).train()
    checkpoint = torch.load(tmp_path / 'b' / 'iter_2.pth', weights_only=False)
    resumed_cfg = tiny_config(data_root, str(tmp_path / 'b'), 4)
    resumed_cfg.resume = True
    resumed = Runner.from_cfg(resumed_cfg)
    resumed.train()

    assert resumed.iter == straight.iter == 4
    saved = checkpoint['optimizer']['state']
    assert saved, 'the checkpoint must carry the optimizer state'
    for name, param in straight.model.state_dict().items():
        torch.testing.assert_close(
            resumed.model.state_dict()[name], param, msg=name)
    straight_state = straight.optim_wrapper.optimizer.state_dict()['state']
    resumed_state = resumed.optim_wrapper.optimizer.state_dict()['state']
    assert resumed_state.keys() == straight_state.keys()
    for index, state in straight_state.items():
        for key, value in state.items():  # AdamW: step, exp_avg, exp_avg_sq
            torch.testing.assert_close(resumed_state[index][key], value)


def test_train_then_test_cli(data_root, tmp_path):
    """tools/train.py writes a checkpoint that tools/test.py scores and paints."""
    work_dir = str(tmp_path / 'cli')
    options = cli_options({
        **TINY, **data_options(data_root), 'train_cfg.max_iters': 2,
        'train_cfg.val_interval': 2, 'default_hooks.checkpoint.interval': 2
    })
    train = run_tool('tools/train.py', CONFIG, '--work-dir', work_dir,
                     '--cfg-options', *options)
    assert train.returncode == 0, train.stderr[-3000:]
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    show_dir = str(tmp_path / 'show')
    test = run_tool('tools/test.py', CONFIG, osp.join(work_dir, 'iter_2.pth'),
                    '--work-dir', work_dir, '--show-dir', show_dir,
                    '--cfg-options', *options)
    assert test.returncode == 0, test.stderr[-3000:]
    assert 'mIoU' in test.stdout + test.stderr
    painted = subprocess.run(['find', show_dir, '-name', '*.png'],
                             capture_output=True, text=True).stdout.split()
    assert len(painted) == 2


def test_mmseg_own_train_tool_trains_our_config(data_root, tmp_path):
    """mmseg's own tools/train.py, not ours, trains our config to its iteration-2 checkpoint."""
    import mmseg
    tool = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'train.py')
    if not osp.isfile(tool):
        pytest.skip('this mmseg distribution ships no tools/train.py')
    work_dir = str(tmp_path / 'mmseg_tool')
    options = cli_options({
        **TINY, **data_options(data_root), 'train_cfg.max_iters': 2,
        'train_cfg.val_interval': 100, 'default_hooks.checkpoint.interval': 2
    })
    result = run_tool(tool, CONFIG, '--work-dir', work_dir, '--cfg-options',
                      *options)
    assert result.returncode == 0, result.stderr[-3000:]
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))


def test_unknown_model_key_fails_before_training(data_root, tmp_path):
    """tools/train.py stops on a misspelt model key before its first iteration."""
    result = run_tool('tools/train.py', CONFIG, '--work-dir',
                      str(tmp_path / 'typo'), '--cfg-options',
                      *cli_options({**TINY, **data_options(data_root)}),
                      'model.decode_head.num_clases=8')
    assert result.returncode != 0
    assert 'num_clases' in result.stderr
    assert 'Iter(train)' not in result.stdout + result.stderr


@pytest.mark.parametrize('key', ['lr_config', 'runner', 'evaluation'])
def test_mmseg0x_config_is_rejected_by_key(key):
    cfg = Config.fromfile(CONFIG)
    cfg[key] = dict(policy='poly')
    with pytest.raises(ValueError, match=key):
        check_config(cfg)


def test_missing_data_folder_names_folder_and_command(tmp_path):
    """tools/train.py on a missing data folder exits naming it and tools/make_synthetic.py."""
    missing = str(tmp_path / 'nowhere')
    result = run_tool('tools/train.py', CONFIG, '--work-dir',
                      str(tmp_path / 'w'), '--cfg-options',
                      *cli_options({**TINY, **data_options(missing)}))
    assert result.returncode != 0
    assert missing in result.stderr
    assert 'tools/make_synthetic.py' in result.stderr


@pytest.fixture(scope='module')
def trained_dir(data_root, tmp_path_factory):
    """A work dir holding iter_2.pth, iter_4.pth and last_checkpoint."""
    work_dir = str(tmp_path_factory.mktemp('trained'))
    Runner.from_cfg(tiny_config(data_root, work_dir, 4)).train()
    return work_dir


def resume_cli(data_root, work_dir, max_iters):
    options = cli_options({
        **TINY, **data_options(data_root), 'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': 100, 'default_hooks.checkpoint.interval': 2,
        'default_hooks.checkpoint.max_keep_ckpts': 3
    })
    return run_tool('tools/train.py', CONFIG, '--work-dir', str(work_dir),
                    '--resume', '--cfg-options', *options)


def file_bytes(work_dir, *names):
    return {name: (work_dir / name).read_bytes() for name in names}


def test_resume_without_last_checkpoint_continues_from_newest(
        data_root, trained_dir, tmp_path):
    """Without last_checkpoint, --resume goes on from iter_4.pth and leaves the old files alone."""
    work_dir = tmp_path / 'copied'
    shutil.copytree(trained_dir, work_dir)
    (work_dir / 'last_checkpoint').unlink()
    before = file_bytes(work_dir, 'iter_2.pth', 'iter_4.pth')
    result = resume_cli(data_root, work_dir, 6)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'Iter(train) [5/6]' in log and 'Iter(train) [1/6]' not in log
    assert file_bytes(work_dir, 'iter_2.pth', 'iter_4.pth') == before
    assert torch.load(work_dir / 'iter_6.pth',
                      weights_only=False)['meta']['iter'] == 6


def test_resume_falls_back_from_truncated_checkpoint(data_root, trained_dir,
                                                     tmp_path):
    """tools/train.py --resume warns of a truncated iter_4.pth and goes on from iter_2.pth."""
    work_dir = tmp_path / 'truncated'
    shutil.copytree(trained_dir, work_dir)
    newest = work_dir / 'iter_4.pth'
    newest.write_bytes(newest.read_bytes()[:newest.stat().st_size // 2])
    result = resume_cli(data_root, work_dir, 6)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    warning = next(line for line in log.splitlines()
                   if 'truncated or corrupt' in line)
    assert 'iter_4.pth' in warning and 'iter_2.pth' in warning
    assert 'Iter(train) [3/6]' in log and 'Iter(train) [2/6]' not in log


def test_resume_with_nothing_to_resume_fails_and_writes_nothing(
        data_root, tmp_path):
    """tools/train.py --resume in a folder without checkpoints fails and writes nothing there."""
    work_dir = tmp_path / 'typo'
    work_dir.mkdir()
    (work_dir / 'notes.txt').write_text('not a checkpoint')
    result = resume_cli(data_root, work_dir, 2)
    assert result.returncode != 0
    assert 'nothing to resume from' in result.stderr
    assert str(work_dir) in result.stderr
    assert sorted(p.name for p in work_dir.iterdir()) == ['notes.txt']


def test_train_refuses_a_work_dir_another_run_holds(data_root, tmp_path):
    """tools/train.py refuses a locked work dir, naming its holder, before it logs or trains."""
    work_dir = tmp_path / 'busy'
    with work_dir_lock(str(work_dir)):  # this process is the other run
        result = run_tool('tools/train.py', CONFIG, '--work-dir', str(work_dir),
                          '--cfg-options', *cli_options({
                              **TINY, **data_options(data_root), 'train_cfg.max_iters': 2}))
        assert result.returncode != 0
        assert f'work dir {work_dir} is in use' in result.stderr
        assert f'PID {os.getpid()} on host' in result.stderr
        assert 'Iter(train)' not in result.stdout + result.stderr
        assert os.listdir(work_dir) == [LOCK_NAME]  # no log, no checkpoint


def test_resume_takes_over_the_lock_of_a_killed_run(data_root, trained_dir, tmp_path):
    """tools/train.py --resume takes over a dead run's lock, trains on, then removes the lock."""
    work_dir = tmp_path / 'killed'
    shutil.copytree(trained_dir, work_dir)
    killed = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                            capture_output=True, text=True, check=True)
    pid = int(killed.stdout)
    (work_dir / LOCK_NAME).write_text(json.dumps(dict(pid=pid, host=socket.gethostname())))
    result = resume_cli(data_root, work_dir, 6)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert f'taking over the lock of PID {pid}' in log
    assert 'Iter(train) [5/6]' in log
    assert not (work_dir / LOCK_NAME).exists()


def evaluate_cli(data_root, checkpoint, *args, **options):
    options = cli_options({**TINY, **data_options(data_root), **options})
    return run_tool('tools/test.py', CONFIG, checkpoint, *args,
                    '--cfg-options', *options)


@pytest.mark.parametrize('options, key', [
    ({'model.decode_head.num_classes': 5}, 'decode_head.conv_seg.weight'),
    ({'model.auxiliary_head': None}, 'auxiliary_head.conv_seg.weight'),
])
def test_test_refuses_checkpoint_that_does_not_fit(data_root, trained_dir,
                                                   tmp_path, options, key):
    """tools/test.py refuses a trained checkpoint that does not fit the config, naming the key."""
    result = evaluate_cli(data_root, osp.join(trained_dir, 'iter_4.pth'),
                          '--work-dir', str(tmp_path), **options)
    assert result.returncode != 0
    assert key in result.stderr and '--non-strict' in result.stderr
    assert not SCORE.search(result.stdout + result.stderr)


def test_test_non_strict_says_so(data_root, trained_dir, tmp_path):
    """tools/test.py --non-strict scores a mismatched trained checkpoint and says NON-STRICT."""
    result = evaluate_cli(data_root, osp.join(trained_dir, 'iter_4.pth'),
                          '--work-dir', str(tmp_path), '--non-strict',
                          **{'model.decode_head.num_classes': 5})
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    score = list(SCORE.finditer(log))[-1]
    assert 'NON-STRICT' in log[score.end():]


def test_test_with_tta(data_root, trained_dir, tmp_path):
    """tools/test.py --tta scores a trained checkpoint with test-time augmentation."""
    result = evaluate_cli(data_root, osp.join(trained_dir, 'iter_4.pth'),
                          '--work-dir', str(tmp_path), '--tta')
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert SCORE.search(log) and 'NON-STRICT' not in log


def augmented_config(data_root, work_dir, max_iters):
    """The shipped random resize, crop, flip and photometric distortion,
    and dropout in the decode head."""
    cfg = tiny_config(data_root, work_dir, max_iters)
    cfg.train_dataloader.dataset.pipeline = cfg.train_pipeline
    cfg.model.decode_head.dropout_ratio = 0.1
    return cfg


def test_resume_reproduces_augmented_run(data_root, tmp_path):
    """Resume with random augmentation and dropout gives the straight run's weights bit for bit."""
    straight = Runner.from_cfg(
        augmented_config(data_root, str(tmp_path / 'a'), 4))
    straight.train()
    Runner.from_cfg(augmented_config(data_root, str(tmp_path / 'b'),
                                     2)).train()
    resumed_cfg = augmented_config(data_root, str(tmp_path / 'b'), 4)
    resumed_cfg.resume = True
    resumed = Runner.from_cfg(resumed_cfg)
    resumed.train()

    assert resumed.iter == straight.iter == 4
    for name, param in straight.model.state_dict().items():
        torch.testing.assert_close(
            resumed.model.state_dict()[name], param, rtol=0, atol=0,
            msg=name)
