"""tools/benchmark_ops.py: its FLOP model, and a tiny run end to end in a subprocess."""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

TOOL = osp.join(osp.dirname(__file__), '..', 'tools', 'benchmark_ops.py')


@pytest.fixture(scope='module')
def benchmark_ops():
    spec = importlib.util.spec_from_file_location('benchmark_ops', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flops_are_counted_as_each_path_executes(benchmark_ops):
    n, d = 1000, 64
    unit = n * n * d
    count = benchmark_ops.logsumexp_flops
    # Self-contrast: the fused Triton backward adds both roles in one kernel.
    assert count('triton', n, n, d, True, True) == 6 * unit
    assert count('tiled', n, n, d, True, True) == 8 * unit
    assert count('reference', n, n, d, True, True) == 6 * unit
    # A detached queue: no dk anywhere.
    assert count('tiled', n, n, d, False, False) == 6 * unit
    assert count('triton', n, n, d, False, False) == 6 * unit
    assert count('reference', n, n, d, False, False) == 4 * unit
    # Separate keys with gradients: Triton recomputes s in each backward kernel.
    assert count('triton', n, n, d, False, True) == 10 * unit
    # Propagation (B = 1, L = 96, D = E = 16): tiled 8 L^2 D + 6 L^2 E, Triton 6 and 8.
    build = benchmark_ops.build_case
    assert build('pixel_propagation', 'tiled', 96, 16, 'cpu', torch.float32).flops == \
        2 * 96**2 * (4 * 16 + 3 * 16)
    assert build('pixel_propagation', 'triton', 96, 16, 'cpu', torch.float32).flops == \
        2 * 96**2 * (3 * 16 + 4 * 16)


def test_tiny_cpu_run_writes_flops_and_gemm_fraction(tmp_path):
    out = tmp_path / 'bench.json'
    result = subprocess.run(
        [sys.executable, TOOL, '--device', 'cpu', '--json', str(out), '--ops', 'supcon_loss',
         '--sizes', '96', '--dims', '16', '--repeats', '1'],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    cases = json.loads(out.read_text())['cases']
    assert [c['backend'] for c in cases] == ['reference', 'tiled']
    for case in cases:
        assert case['status'] == 'ok', case['status']
        assert case['flops'] > 0 and 0 < case['gemm_fraction']
        achieved = case['flops'] / (case['time_ms'] * 1e-3)
        assert case['gemm_fraction'] == pytest.approx(achieved / (case['gemm_tflops'] * 1e12))
    assert 'of GEMM' in result.stdout
