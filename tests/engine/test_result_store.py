"""ResultStore: resuming a benchmark trains only what the JSON lacks; settings must match."""
import json

import pytest

from densecl.engine import benchmark
from densecl.engine.benchmark import ResultStore


def fake_training(calls):
    def train_and_evaluate(config, work_dir, cfg_options, metrics):
        calls.append(config)
        return {**{name: 50.0 + len(calls) for name in metrics},
                'step_time_s': 0.5, 'peak_rss_mib': 100.0, 'wall_s': 3.0}
    return train_and_evaluate


def test_train_once_skips_stored_keys_across_reruns(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(benchmark, 'train_and_evaluate', fake_training(calls))
    path = str(tmp_path / 'results.json')
    store = ResultStore(path, {}, {'iters': 10})
    store.train_once('a|0', 'a.py', str(tmp_path / 'a'), {}, ('student/mIoU', ))
    assert calls == ['a.py']
    with open(path) as f:  # saved at once: an interrupted benchmark keeps the run
        assert json.load(f)['runs']['a|0']['student/mIoU'] == 51.0

    rerun = ResultStore(path, {}, {'iters': 10})
    rerun.train_once('a|0', 'a.py', str(tmp_path / 'a'), {}, ('student/mIoU', ))
    rerun.train_once('b|0', 'b.py', str(tmp_path / 'b'), {}, ('student/mIoU', ))
    assert calls == ['a.py', 'b.py']
    assert sorted(rerun.runs()) == ['a|0', 'b|0']
    assert rerun.runs()['a|0']['student/mIoU'] == 51.0


def test_other_settings_are_refused(tmp_path):
    path = str(tmp_path / 'results.json')
    ResultStore(path, {}, {'iters': 10}).save()
    with pytest.raises(ValueError, match='made with .*iters.*10'):
        ResultStore(path, {}, {'iters': 20})
