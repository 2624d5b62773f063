"""tools/check_gpu.py's logic on the CPU paths (tiled against reference), in process."""
import json
import os.path as osp

import pytest

TOOLS = osp.join(osp.dirname(__file__), '..', 'tools')


@pytest.fixture
def check_gpu(monkeypatch):
    monkeypatch.syspath_prepend(TOOLS)
    import check_gpu
    return check_gpu


def run(check_gpu, tmp_path, *extra):
    out = tmp_path / 'check.json'
    with pytest.raises(SystemExit) as exit_info:
        check_gpu.main(['--json', str(out), '--device', 'cpu', '--backend', 'tiled',
                        '--against', 'reference', '--n', '64', '--d', '16', '--dtypes',
                        'float32', 'bfloat16', '--skip-benchmark', *extra])
    return exit_info.value.code, json.loads(out.read_text())


def test_every_op_and_dtype_is_checked(check_gpu, tmp_path):
    code, report = run(check_gpu, tmp_path)
    assert code == 0
    checked = [(c['op'], c['dtype']) for c in report['checks']]
    assert checked == [(op, dtype) for op in check_gpu.benchmark_ops.OPS
                       for dtype in ('float32', 'bfloat16')]
    # Every differentiable input's gradient is compared, not only the value.
    supcon, propagation = report['checks'][0], report['checks'][6]
    assert list(supcon['errors']) == ['value', 'grad0']
    assert list(propagation['errors']) == ['value', 'grad0', 'grad1']
    assert all(c['passed'] for c in report['checks'])


def test_a_difference_beyond_the_tolerance_fails(check_gpu, tmp_path):
    code, report = run(check_gpu, tmp_path, '--rtol-scale', '0')
    assert code == 1
    assert not all(c['passed'] for c in report['checks'])
