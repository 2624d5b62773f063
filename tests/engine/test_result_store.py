"""ResultStore: a rerun trains only what the JSON lacks; stored runs are keyed by settings,
data, config and options; saves are atomic, happen only on change, and are checked first."""
import json
import os

import pytest

from densecl.engine import benchmark
from densecl.engine.benchmark import ResultStore, config_fingerprint, data_fingerprint


def fake_training(calls):
    def train_and_evaluate(config, work_dir, cfg_options, metrics):
        calls.append(config)
        return {**{name: 50.0 + len(calls) for name in metrics},
                'step_time_s': 0.5, 'peak_rss_mib': 100.0, 'wall_s': 3.0}
    return train_and_evaluate


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """(calls, json path, data root, config paths a and b) with training faked."""
    calls = []
    monkeypatch.setattr(benchmark, 'train_and_evaluate', fake_training(calls))
    data = tmp_path / 'data'
    (data / 'splits').mkdir(parents=True)
    (data / 'splits' / 'train.txt').write_text('img_0\n')
    configs = []
    for name in 'ab':
        (tmp_path / f'{name}.py').write_text(f'model = dict(name={name!r}, depth=18)\n')
        configs.append(str(tmp_path / f'{name}.py'))
    return calls, str(tmp_path / 'results.json'), str(data), configs


def test_train_once_skips_stored_runs_across_reruns(setup, tmp_path):
    calls, path, data, (a, b) = setup
    store = ResultStore(path, {}, {'iters': 10}, data)
    store.train_once('a|0', a, str(tmp_path / 'a'), {}, ('student/mIoU', ))
    assert calls == [a]
    with open(path) as f:  # saved at once: an interrupted benchmark keeps the run
        assert json.load(f)['runs']['a|0']['student/mIoU'] == 51.0

    rerun = ResultStore(path, {}, {'iters': 10}, data)
    assert rerun.current() == {}  # nothing is reported before it is confirmed
    rerun.train_once('a|0', a, str(tmp_path / 'a'), {}, ('student/mIoU', ))
    rerun.train_once('b|0', b, str(tmp_path / 'b'), {}, ('student/mIoU', ))
    assert calls == [a, b]
    assert sorted(rerun.current()) == ['a|0', 'b|0']
    assert rerun.current()['a|0']['student/mIoU'] == 51.0


def test_other_settings_are_refused(setup):
    _, path, data, _ = setup
    ResultStore(path, {}, {'iters': 10}, data).save()
    with pytest.raises(ValueError, match=r'results.json holds runs made with other settings or '
                       r'data \(iters: 10 -> 20\)'):
        ResultStore(path, {}, {'iters': 20}, data)


def test_other_data_is_refused_before_training(setup, tmp_path):
    calls, path, data, (a, _) = setup
    ResultStore(path, {}, {'iters': 10}, data).train_once('a|0', a, str(tmp_path / 'a'), {})
    other = tmp_path / 'other'
    os.rename(data, other)
    with pytest.raises(ValueError, match=r"\(data.root: '.*data' -> '.*other'\)"):
        ResultStore(path, {}, {'iters': 10}, str(other))
    os.rename(other, data)
    (tmp_path / 'data' / 'splits' / 'train.txt').write_text('img_1\n')  # same root, new split
    with pytest.raises(ValueError, match=r'\(data.sha256: '):
        ResultStore(path, {}, {'iters': 10}, data)
    with pytest.raises(FileNotFoundError, match='--data-root .*missing is not a folder'):
        ResultStore(path, {}, {'iters': 10}, str(tmp_path / 'missing'))
    assert calls == [a]


def test_data_fingerprint_covers_names_and_contents(tmp_path):
    (tmp_path / 'x').mkdir()
    (tmp_path / 'x' / 'a.png').write_bytes(b'1')
    first = data_fingerprint(str(tmp_path))
    (tmp_path / 'x' / 'a.png').write_bytes(b'2')
    second = data_fingerprint(str(tmp_path))
    os.rename(tmp_path / 'x' / 'a.png', tmp_path / 'x' / 'b.png')
    assert len({first, second, data_fingerprint(str(tmp_path))}) == 3


def test_changed_config_options_or_upstream_train_again(setup, tmp_path):
    calls, path, data, (a, _) = setup
    work = str(tmp_path / 'a')
    ResultStore(path, {}, {'iters': 10}, data).train_once('a|0', a, work, {'model.depth': 18})
    rerun = ResultStore(path, {}, {'iters': 10}, data)
    rerun.train_once('a|0', a, work, {'model.depth': 18})  # options equal to the config: same
    assert calls == [a]
    rerun.train_once('a|0', a, work, {'model.depth': 34})
    rerun.train_once('a|0', a, work, {'model.depth': 34}, upstream=('warm-up',))
    with open(a, 'a') as f:
        f.write('optim = dict(lr=0.1)\n')
    rerun.train_once('a|0', a, work, {'model.depth': 34}, upstream=('warm-up',))
    assert calls == [a] * 4
    assert config_fingerprint(a, {}) != config_fingerprint(a, {}, 'warm-up')


def test_runs_stored_before_fingerprints_are_trained_again(setup, tmp_path):
    calls, path, data, (a, _) = setup
    store = ResultStore(path, {}, {'iters': 10}, data)
    store.save()
    with open(path) as f:
        saved = json.load(f)
    saved['runs']['a|0'] = {'mIoU': 99.0}  # a legacy record: no fingerprint
    with open(path, 'w') as f:
        json.dump(saved, f)
    rerun = ResultStore(path, {}, {'iters': 10}, data)
    rerun.train_once('a|0', a, str(tmp_path / 'a'), {})
    assert calls == [a] and rerun.current()['a|0']['mIoU'] == 51.0


def test_save_is_atomic_and_only_when_something_changed(setup, tmp_path, monkeypatch):
    calls, path, data, (a, b) = setup
    store = ResultStore(path, {'date': 'first'}, {'iters': 10}, data)
    store.train_once('a|0', a, str(tmp_path / 'a'), {})
    store.save(table=[{'row': 'a', 'mIoU': 51.0}])
    with open(path) as f:
        before = f.read()

    rerun = ResultStore(path, {'date': 'second'}, {'iters': 10}, data)
    rerun.train_once('a|0', a, str(tmp_path / 'a'), {})
    rerun.save(table=[{'row': 'a', 'mIoU': 51.0}])
    with open(path) as f:  # nothing new: the file, header included, is untouched
        assert f.read() == before

    def dump_half_then_fail(data, f, **kwargs):
        f.write('{"runs": {')
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(benchmark.json, 'dump', dump_half_then_fail)
    with pytest.raises(OSError, match='No space'):
        rerun.train_once('b|0', b, str(tmp_path / 'b'), {})
    with open(path) as f:  # the stored runs survive a failed write
        assert f.read() == before
    assert sorted(os.listdir(tmp_path)) == ['a.py', 'b.py', 'data', 'results.json']


def test_unwritable_json_is_refused_before_training(setup, tmp_path):
    calls, _, data, _ = setup
    (tmp_path / 'file').write_text('')
    with pytest.raises(NotADirectoryError, match='file is a file'):
        ResultStore(str(tmp_path / 'file' / 'results.json'), {}, {'iters': 10}, data)
    with pytest.raises(IsADirectoryError, match='--json .* is a folder'):
        ResultStore(str(tmp_path), {}, {'iters': 10}, data)
    assert calls == []


@pytest.mark.parametrize('content', ['{"runs": {"a|0": ', '[1, 2]', '\x89PNG'])
def test_corrupt_json_is_refused_naming_the_file(setup, content):
    _, path, data, _ = setup
    with open(path, 'w') as f:
        f.write(content)
    with pytest.raises(ValueError, match='results.json is not a .*benchmark JSON'):
        ResultStore(path, {}, {'iters': 10}, data)
