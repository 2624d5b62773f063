"""Config checks shared by the tools: legacy keys and --cfg-options typos."""
import os.path as osp

import pytest
from mmengine.config import Config

from densecl.engine import check_config, load_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/quickstart/fcn_r18-d16_1k_toyscenes-128x128.py')


def test_every_legacy_key_is_named():
    cfg = Config.fromfile(CONFIG)
    for key in ('lr_config', 'runner', 'evaluation'):
        cfg[key] = dict(policy='poly')
    with pytest.raises(ValueError) as error:
        check_config(cfg)
    for key in ('lr_config', 'runner', 'evaluation'):
        assert repr(key) in str(error.value)


def test_top_level_typo_in_cfg_options_fails_with_suggestion():
    with pytest.raises(ValueError) as error:
        load_config(CONFIG, {'optim_wraper.optimizer.lr': 0.5})
    message = str(error.value)
    assert "'optim_wraper'" in message
    assert "did you mean 'optim_wrapper'" in message


@pytest.mark.parametrize('options', [
    {'optim_wrapper.optimizer.lr': 0.5},
    {'sync_bn': 'torch'},  # read by the Runner, absent from the config
    {'work_dir': 'elsewhere', 'train_cfg.max_iters': 3},
])
def test_existing_or_runner_keys_are_accepted(options):
    cfg = load_config(CONFIG, options)
    for key, value in options.items():
        node = cfg
        for part in key.split('.'):
            node = node[part]
        assert node == value


def test_semi_sampler_batch_must_match_the_dataloader():
    semi = osp.join(ROOT, 'configs/semi',
                    'deeplabv3plus_r18-d16_weak-to-strong_1k_toyscenes-1-16-128x128.py')
    load_config(semi)  # as shipped: both 8
    with pytest.raises(ValueError) as error:
        load_config(semi, {'train_dataloader.batch_size': 16})
    assert 'sampler.batch_size=8' in str(error.value) and 'batch_size=16' in str(error.value)


def test_config_text_is_formatted_once_and_follows_changes(monkeypatch):
    import copy
    cfg = load_config(CONFIG)
    plain = Config(cfg.to_dict())  # mmengine's own text is the reference
    reference = plain.pretty_text
    formatted = []  # calls of mmengine's formatting (yapf)
    mmengine_text = Config.pretty_text
    monkeypatch.setattr(Config, 'pretty_text',
                        property(lambda self: formatted.append(1) or mmengine_text.fget(self)))
    assert cfg.pretty_text == reference and cfg.pretty_text == reference
    runner_copy = copy.deepcopy(cfg)  # as the Runner keeps it
    assert runner_copy.pretty_text == reference and len(formatted) == 1
    runner_copy.train_cfg.max_iters = 7
    plain.train_cfg.max_iters = 7
    changed = mmengine_text.fget(plain)
    assert 'max_iters=7' in changed and runner_copy.pretty_text == changed
    assert cfg.train_cfg.max_iters != 7 and cfg.pretty_text == reference
    assert len(formatted) == 2
    assert '_pretty_text_of' not in runner_copy.keys()
