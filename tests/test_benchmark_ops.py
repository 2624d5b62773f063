"""tools/benchmark_ops.py: its FLOP model, the interleaved GEMM pairing on a fake clock,
and a tiny run end to end in a subprocess."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tool_testing import load_tool

TOOL = osp.join(osp.dirname(__file__), '..', 'tools', 'benchmark_ops.py')


@pytest.fixture(scope='module')
def benchmark_ops():
    return load_tool('benchmark_ops')


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


def test_useful_flops_do_not_depend_on_the_path(benchmark_ops):
    n, d = 96, 16
    cases = {backend: benchmark_ops.build_case('pixel_contrast_loss', backend, n, d, 'cpu',
                                               torch.float32)
             for backend in ('reference', 'tiled')}
    labels = benchmark_ops.Inputs('cpu', torch.float32)
    labels.tensor(n, d)  # the same draws as the builder: z, then the labels
    valid = int((labels.labels(n) != benchmark_ops.IGNORE_INDEX).sum())
    for case in cases.values():
        assert case.useful_flops == 6 * valid**2 * d
    # The tiled path makes two passes of 8 valid^2 D each.
    assert cases['tiled'].flops == 16 * valid**2 * d


class FakeClock:
    """A clock that only moves when a fake workload runs: ``load`` scales each pair."""

    def __init__(self, loads):
        self.now, self.loads, self.calls = 0.0, list(loads), []

    def __call__(self):
        return self.now

    def run(self, name, seconds):
        def work():
            self.calls.append(name)
            self.now += seconds * self.loads[0]
            if name == 'op':  # the load changes between pairs
                self.loads.pop(0)
        return work


def test_pairs_alternate_and_their_ratio_survives_load(benchmark_ops):
    clock = FakeClock(loads=[1.0, 3.0, 10.0])
    syncs = []
    gemm_times, op_times = benchmark_ops.interleaved_times(
        clock.run('gemm', 1.0), clock.run('op', 4.0), 3, lambda: syncs.append(clock.now), clock)
    assert clock.calls == ['gemm', 'op'] * 3
    assert gemm_times == [1.0, 3.0, 10.0] and op_times == [4.0, 12.0, 40.0]
    assert len(syncs) == 12  # before and after every timed call
    # Same FLOPs on both sides: the op runs at a quarter of the GEMM's rate in every pair.
    ratios, median = benchmark_ops.paired_gemm_ratios(gemm_times, op_times, 100, 100)
    assert ratios == pytest.approx([0.25] * 3) and median == pytest.approx(0.25)


def test_median_of_paired_ratios_on_hand_made_times(benchmark_ops):
    # useful 600 FLOPs per op run, 300 per GEMM run: ratio = 2 * gemm_s / op_s.
    ratios, median = benchmark_ops.paired_gemm_ratios([1.0, 2.0, 1.0, 5.0], [4.0, 2.0, 1.0, 4.0],
                                                      600, 300)
    assert ratios == pytest.approx([0.5, 2.0, 2.0, 2.5])
    assert median == pytest.approx(2.0)
    # A ratio of the medians would differ (2 * 1.5 / 3 = 1.0): pairs are not mixed.
    with pytest.raises(ValueError):
        benchmark_ops.paired_gemm_ratios([1.0], [1.0, 2.0], 1, 1)


def test_gemm_baseline_matches_the_useful_flops(benchmark_ops):
    gemm = benchmark_ops.make_gemm((64, 16, 64), 6 * 64 * 64 * 16, 'cpu', torch.float32)
    assert gemm.calls == 3 and gemm.flops == 6 * 64 * 64 * 16


def test_tiny_cpu_run_writes_flops_and_gemm_fraction(tmp_path):
    out = tmp_path / 'bench.json'
    result = subprocess.run(
        [sys.executable, TOOL, '--device', 'cpu', '--json', str(out), '--ops', 'supcon_loss',
         '--sizes', '96', '--dims', '16', '--repeats', '3'],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    cases = json.loads(out.read_text())['cases']
    assert [c['backend'] for c in cases] == ['reference', 'tiled']
    for case in cases:
        assert case['status'] == 'ok', case['status']
        assert case['flops'] > 0 and case['useful_flops'] > 0 and 0 < case['gemm_fraction']
        assert len(case['pair_ratios']) == len(case['gemm_times_ms']) == len(case['times_ms'])
        ratios = [(case['useful_flops'] / op) / (case['gemm_flops'] / gemm)
                  for op, gemm in zip(case['times_ms'], case['gemm_times_ms'])]
        assert case['pair_ratios'] == pytest.approx(ratios)
        assert case['gemm_fraction'] == pytest.approx(sorted(ratios)[len(ratios) // 2])
    assert 'of GEMM' in result.stdout and 'useful GFLOP' in result.stdout
