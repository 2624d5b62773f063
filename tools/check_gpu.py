"""One GPU check for densecl.ops: correctness in every dtype, then the CUDA benchmark.

On a CUDA machine (under 5 minutes)::

    python tools/check_gpu.py --json docs/check_gpu.json

1. Every function of ``benchmark_ops.OPS`` (so every Triton kernel: the
   log-sum-exp forward, its self-contrast, dq and dk backwards, propagation
   forward and backward) runs at N = 4,096, D = 128 in float32, bfloat16 and
   float16 on the Triton backend and on the tiled path with the same inputs;
   the value and every input gradient must agree to a per-dtype tolerance,
   relative to the largest magnitude of the tiled result.
2. ``tools/benchmark_ops.py --device cuda`` runs the Triton and FlexAttention
   cases at N = 131,072, D = 128 (bf16), the GPU target.

Both go into one JSON; the exit status is 1 if any check failed. Without a
GPU, ``--device cpu --backend tiled --against reference --skip-benchmark``
runs the same checks on the CPU paths (the test does that at small N).
"""
import argparse
import datetime
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile

import torch

import benchmark_ops

# Largest |backend - against| / max |against| accepted, per input dtype: the
# tiled path accumulates half inputs in float32, Triton multiplies half
# operands on tensor cores (probabilities rounded to the input dtype).
RTOL = {'float32': 1e-4, 'bfloat16': 5e-2, 'float16': 1e-2}


def value_and_grads(case):
    """The case's output and its inputs' gradients (upstream: ones), in float64."""
    out = case.run()
    out.sum().backward()
    return [out.detach().double()] + [leaf.grad.double() for leaf in case.leaves]


def relative_error(got, want):
    """max |got - want| / max |want|; inf when either is not finite where the other is."""
    if not torch.equal(torch.isfinite(got), torch.isfinite(want)):
        return float('inf')
    finite = torch.isfinite(want)
    scale = want[finite].abs().max().item() if finite.any() else 1.0
    return ((got - want)[finite].abs().max().item() if finite.any() else 0.0) / max(scale, 1e-30)


def check_op(op, dtype, args):
    """Compare ``args.backend`` with ``args.against`` on one op and dtype."""
    results = [value_and_grads(benchmark_ops.build_case(op, backend, args.n, args.d,
                                                        args.device, getattr(torch, dtype)))
               for backend in (args.backend, args.against)]
    names = ['value'] + [f'grad{i}' for i in range(len(results[0]) - 1)]
    errors = {name: relative_error(got, want) for name, got, want in zip(names, *results)}
    rtol = RTOL[dtype] * args.rtol_scale
    return {'op': op, 'dtype': dtype, 'n': args.n, 'd': args.d, 'rtol': rtol,
            'errors': errors, 'passed': all(err <= rtol for err in errors.values())}


def run_benchmark(args):
    """The CUDA benchmark in its own processes; returns its JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'benchmark.json')
        command = [sys.executable, osp.join(osp.dirname(osp.abspath(__file__)),
                                            'benchmark_ops.py'),
                   '--device', args.device, '--json', path, '--dims', str(args.d),
                   '--sizes', *map(str, args.bench_sizes), '--backends', *args.bench_backends,
                   '--repeats', '3', '--case-timeout', str(args.case_timeout)]
        completed = subprocess.run(command, capture_output=True, text=True)
        print(completed.stdout, end='')
        if completed.returncode != 0:
            return {'status': f'error (exit {completed.returncode})',
                    'stderr_tail': completed.stderr.splitlines()[-5:]}
        with open(path) as f:
            return json.load(f)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', required=True, help='write the results here')
    parser.add_argument('--device', default='cuda', choices=('cuda', 'cpu'))
    parser.add_argument('--backend', default='triton', help='the backend checked')
    parser.add_argument('--against', default='tiled', help='the backend it must match')
    parser.add_argument('--n', type=int, default=4096)
    parser.add_argument('--d', type=int, default=128)
    parser.add_argument('--dtypes', nargs='+', choices=list(RTOL), default=list(RTOL))
    parser.add_argument('--rtol-scale', type=float, default=1.0,
                        help='multiplies every tolerance (0: any difference fails)')
    parser.add_argument('--skip-benchmark', action='store_true')
    parser.add_argument('--bench-sizes', nargs='+', type=int, default=[131072])
    parser.add_argument('--bench-backends', nargs='+', default=['triton', 'flex'])
    parser.add_argument('--case-timeout', type=float, default=90.0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        sys.exit('error: no CUDA device here; --device cpu checks the CPU paths')
    report = {
        'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'device': torch.cuda.get_device_name(0) if args.device == 'cuda' else 'cpu',
        'torch': torch.__version__,
        'command': ' '.join([osp.basename(sys.argv[0])] + sys.argv[1:]),
        'checks': [],
    }
    for op in benchmark_ops.OPS:
        for dtype in args.dtypes:
            check = check_op(op, dtype, args)
            report['checks'].append(check)
            worst = max(check['errors'].values())
            print(f"{'ok  ' if check['passed'] else 'FAIL'} {op} {dtype}: max relative "
                  f"error {worst:.2e} (rtol {check['rtol']:.0e})", flush=True)
    if not args.skip_benchmark:
        report['benchmark'] = run_benchmark(args)
    os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
    with open(args.json, 'w') as f:
        json.dump(report, f, indent=1)
        f.write('\n')
    failed = [c for c in report['checks'] if not c['passed']]
    print(f"{len(report['checks']) - len(failed)}/{len(report['checks'])} checks passed; "
          f'wrote {args.json}')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
