"""tools/merge_benchmark.py: runs of parallel processes joined, conflicts refused."""
import json

import pytest

from tool_testing import load_tool

SETTINGS = {'iters': 300, 'data': {'root': 'data/toyscenes', 'sha256': 'abc'}}


def write(path, runs, settings=SETTINGS):
    path.write_text(json.dumps({'header': {'command': str(path)}, 'settings': settings,
                                'runs': runs}))
    return str(path)


def run(seed, fingerprint='f'):
    return {'mIoU': 50.0 + seed, 'fingerprint': fingerprint}


def test_runs_of_other_seeds_are_added(tmp_path, capsys):
    into = write(tmp_path / 'a.json', {'row|0': run(0), 'row|1': run(1)})
    other = write(tmp_path / 'b.json', {'row|1': run(1), 'row|2': run(2)})
    load_tool('merge_benchmark').main([into, other])
    merged = json.loads((tmp_path / 'a.json').read_text())
    assert merged['runs'] == {'row|0': run(0), 'row|1': run(1), 'row|2': run(2)}
    assert merged['settings'] == SETTINGS and merged['header'] == {'command': into}
    assert 'a.json: 1 runs added (row|2)' in capsys.readouterr().out


@pytest.mark.parametrize('other_runs, other_settings, message', [
    ({'row|1': run(1, 'g')}, SETTINGS, 'row|1 is in .* with other configs'),
    ({'row|2': run(2)}, {**SETTINGS, 'iters': 200}, r"other settings or data .*iters: 300 -> 200"),
    ({'row|2': run(2)}, {**SETTINGS, 'data': {'root': 'x', 'sha256': 'abc'}},
     r"data.root: 'data/toyscenes' -> 'x'"),
])
def test_conflicts_are_refused_and_nothing_written(tmp_path, other_runs, other_settings, message):
    into = write(tmp_path / 'a.json', {'row|0': run(0), 'row|1': run(1)})
    before = (tmp_path / 'a.json').read_text()
    other = write(tmp_path / 'b.json', other_runs, other_settings)
    with pytest.raises(SystemExit, match=message):
        load_tool('merge_benchmark').main([into, other])
    assert (tmp_path / 'a.json').read_text() == before


def test_missing_file_is_named(tmp_path):
    into = write(tmp_path / 'a.json', {})
    with pytest.raises(SystemExit, match='nope.json does not exist'):
        load_tool('merge_benchmark').main([into, str(tmp_path / 'nope.json')])
