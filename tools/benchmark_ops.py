"""Benchmark densecl.ops backends: forward+backward time and peak extra memory.

Every (op, backend, N, D) case runs in a fresh subprocess, so allocator state
and peak-memory counters never leak between cases. Cases whose estimated
memory need exceeds the budget are recorded as ``OOM (would need X GiB)``
without running them.

Example::

    python tools/benchmark_ops.py --device cpu --json docs/bench_cpu.json
    python tools/benchmark_ops.py --device cuda --json docs/bench_cuda.json
    python tools/benchmark_ops.py --device cpu --json /tmp/b.json \
        --ops supcon_loss --sizes 2048 --dims 128 --repeats 1

Workloads (temperature 0.1, inputs L2-normalised where they are embeddings):

* ``supcon_loss``: z (N, D), labels in [0, 19) with ~5% ignore (255).
* ``pixel_contrast_loss``: as supcon_loss (ContrastiveSeg's loss, T = 0.1,
  base T = 0.07).
* ``pixel_logsumexp``: q (N, D) against itself, self-pair excluded.
* ``info_nce``: q, k_pos (N, D); a detached queue of Q = N negatives.
* ``pixel_propagation``: B = max(1, N // 4096) images of L = N // B pixels,
  x (B, L, D), value (B, L, E = D), gamma 2.
* ``prototype_cross_entropy``: f (N, D), K = 19 prototypes mu with a
  variance var (K, D), labels as for supcon_loss.
* ``flex`` (CUDA only): torch.compile'd FlexAttention with q = k = v = z as
  (1, 1, N, D), scale 1/temperature and a score_mod removing the diagonal; the
  loss is the returned LSE summed, i.e. pixel_logsumexp (for supcon_loss it is
  the same LSE, the supcon denominator).

Time is forward + ``loss.sum().backward()`` (synchronised on CUDA), median of
``--repeats`` runs after one warm-up. Before the inputs are made, the case
runs once at N = 512 so that library loading, thread start-up and JIT
compilation are not counted. Peak extra memory covers warm-up and timed runs:
on CPU the process peak RSS (VmHWM, reset through /proc/self/clear_refs once
the inputs exist) minus the RSS at that point; on CUDA
``max_memory_allocated()`` minus the allocation after input creation.
Inputs are fp32, except bf16 for the triton and flex backends on CUDA.
"""
import argparse
import datetime
import gc
import json
import os
import platform
import re
import resource
import signal
import statistics
import subprocess
import sys
import time

import torch

OPS = ('supcon_loss', 'pixel_contrast_loss', 'pixel_logsumexp', 'info_nce', 'pixel_propagation',
       'prototype_cross_entropy')
BACKENDS = ('reference', 'tiled', 'triton', 'flex')
FLEX_OPS = ('supcon_loss', 'pixel_logsumexp')
CPU_SIZES = (2048, 4096, 8192, 16384, 32768, 65536)
CUDA_SIZES = CPU_SIZES + (131072, )
DIMS = (128, 256)
TEMPERATURE = 0.1
NUM_CLASSES = 19
IGNORE_INDEX = 255
RESULT_TAG = 'BENCHMARK_CASE_RESULT '
PRE_RUN_N = 512
# Reference: fp32 copies of its dense term (N x N, N x Q, B x L x L or
# N x K x D) alive at the peak of forward+backward; measured on CPU at
# N = 8192 (6.0, 4.3, 3.0, 5.4, 2.3; pixel_contrast_loss 9.3) and rounded up.
REFERENCE_COPIES = {'supcon_loss': 6.5, 'pixel_contrast_loss': 10, 'pixel_logsumexp': 4.5,
                    'info_nce': 3.5, 'pixel_propagation': 6,
                    'prototype_cross_entropy': 3}
# Non-reference backends: input-sized copies plus tile workspace.
STREAMING_COPIES = 4
STREAMING_WORKSPACE = 256 * 2**20
GIB = 2**30
MIB = 2**20


def workload(op, n, d):
    """Shape parameters of the benchmark workload for ``op`` at size N, D."""
    if op == 'info_nce':
        return {'Q': n}
    if op == 'pixel_propagation':
        b = max(1, n // 4096)
        return {'B': b, 'L': n // b, 'E': d}
    if op == 'prototype_cross_entropy':
        return {'K': NUM_CLASSES}
    return {}


def case_dtype(device, backend):
    """Input dtype of a case: bf16 for triton/flex on CUDA, else fp32."""
    if device == 'cuda' and backend in ('triton', 'flex'):
        return torch.bfloat16
    return torch.float32


def estimate_bytes(op, backend, n, d, itemsize):
    """Rough peak extra memory of one forward+backward, in bytes."""
    w = workload(op, n, d)
    rows = {'info_nce': 2 * n + w.get('Q', 0), 'pixel_propagation': 2 * n}
    inputs = rows.get(op, n) * d * itemsize
    if backend != 'reference':
        return STREAMING_COPIES * inputs + STREAMING_WORKSPACE
    dense = {
        'supcon_loss': n * n,
        'pixel_contrast_loss': n * n,
        'pixel_logsumexp': n * n,
        'info_nce': n * w.get('Q', 0),
        'pixel_propagation': w.get('B', 0) * w.get('L', 0)**2,
        'prototype_cross_entropy': n * w.get('K', 0) * d,
    }[op]
    return int(2 * inputs + REFERENCE_COPIES[op] * dense * 4)


def memory_budget(device):
    """Bytes a case may use: 70% of MemAvailable (CPU), 90% of free (CUDA)."""
    if device == 'cuda':
        return int(0.9 * torch.cuda.mem_get_info()[0])
    with open('/proc/meminfo') as f:
        avail_kib = int(re.search(r'MemAvailable:\s+(\d+)', f.read()).group(1))
    return int(0.7 * avail_kib * 1024)


def flop_count(op, n, d):
    """Nominal forward+backward FLOPs of the N x N similarity ops (8 N^2 D per pass)."""
    if op == 'pixel_contrast_loss':
        return 16 * n * n * d  # two passes: negatives' logsumexp, positives' softplus
    return 8 * n * n * d if op in FLEX_OPS else None


# --------------------------------------------------------------------- child


def _proc_status_kib(field):
    with open('/proc/self/status') as f:
        return int(re.search(field + r':\s+(\d+)', f.read()).group(1))


def _labels(n, gen):
    labels = torch.randint(0, NUM_CLASSES, (n, ), generator=gen)
    labels[torch.rand(n, generator=gen) < 0.05] = IGNORE_INDEX
    return labels


def build_case(op, backend, n, d, device, dtype, seed=0):
    """Create inputs; return (leaf tensors with grad, closure -> loss)."""
    gen = torch.Generator().manual_seed(seed)

    def tensor(*shape, unit=True, grad=True):
        x = torch.randn(*shape, generator=gen)
        if unit:
            x = torch.nn.functional.normalize(x, dim=-1)
        return x.to(device=device, dtype=dtype).requires_grad_(grad)

    w = workload(op, n, d)
    if backend == 'flex':
        from torch.nn.attention.flex_attention import flex_attention
        flex = torch.compile(flex_attention, dynamic=False)
        z = tensor(n, d)

        def no_diagonal(score, b, h, q_idx, kv_idx):
            return torch.where(q_idx == kv_idx, -float('inf'), score)

        def run_flex():
            q = z.view(1, 1, n, d)
            _, lse = flex(q, q, q, score_mod=no_diagonal,
                          scale=1.0 / TEMPERATURE, return_lse=True)
            return lse

        return [z], run_flex

    import densecl.ops as ops
    if op == 'supcon_loss':
        z, labels = tensor(n, d), _labels(n, gen).to(device)
        return [z], lambda: ops.supcon_loss(
            z, labels, temperature=TEMPERATURE, backend=backend)
    if op == 'pixel_contrast_loss':
        z, labels = tensor(n, d), _labels(n, gen).to(device)
        return [z], lambda: ops.pixel_contrast_loss(
            z, labels, temperature=TEMPERATURE, backend=backend)
    if op == 'pixel_logsumexp':
        q = tensor(n, d)
        return [q], lambda: ops.pixel_logsumexp(
            q, temperature=TEMPERATURE, exclude_self=True, backend=backend)
    if op == 'info_nce':
        q, k = tensor(n, d), tensor(n, d)
        negatives = tensor(w['Q'], d, grad=False)
        return [q, k], lambda: ops.info_nce(
            q, k, negatives, temperature=TEMPERATURE, backend=backend)
    if op == 'pixel_propagation':
        x = tensor(w['B'], w['L'], d)
        value = tensor(w['B'], w['L'], w['E'], unit=False)
        return [x, value], lambda: ops.pixel_propagation(
            x, value, gamma=2.0, backend=backend)
    if op == 'prototype_cross_entropy':
        f, mu = tensor(n, d), tensor(w['K'], d)
        var = (0.5 + torch.rand(w['K'], d, generator=gen)).to(device, dtype)
        labels = _labels(n, gen).to(device)
        return [f, mu], lambda: ops.prototype_cross_entropy(
            f, mu, labels, TEMPERATURE, var=var, backend=backend)
    raise ValueError(f'unknown op {op!r}')


def _is_oom(exc):
    text = str(exc).lower()
    return (isinstance(exc, (MemoryError, torch.OutOfMemoryError))
            or 'out of memory' in text or "can't allocate memory" in text)


def run_case(spec):
    """Child mode: time one case and print its result after RESULT_TAG."""
    device, cuda = spec['device'], spec['device'] == 'cuda'
    with open('/proc/self/oom_score_adj', 'w') as f:
        f.write('1000')  # if the box runs out anyway, kill this child first
    dtype = getattr(torch, spec['dtype'])
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    result = {'status': 'ok'}

    def step(leaves, fn):
        for leaf in leaves:
            leaf.grad = None
        fn().sum().backward()

    try:
        # A small pre-run pages in kernels, starts threads and JIT-compiles,
        # so none of that is counted as the op's memory.
        step(*build_case(spec['op'], spec['backend'], PRE_RUN_N, spec['d'],
                         device, dtype))
        sync()
        leaves, fn = build_case(spec['op'], spec['backend'], spec['n'],
                                spec['d'], device, dtype)
        gc.collect()
        if cuda:
            sync()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        else:
            try:
                with open('/proc/self/clear_refs', 'w') as f:
                    f.write('5')  # reset VmHWM to the current RSS
                method = 'VmHWM after clear_refs reset - VmRSS'
            except OSError:
                method = 'VmHWM (not reset) - VmRSS'
            result['memory_method'] = method
            base = _proc_status_kib('VmRSS') * 1024
            # Fail with MemoryError rather than pushing the shared box to OOM.
            limit = (_proc_status_kib('VmSize') * 1024 + spec['budget'] +
                     2 * GIB)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        step(leaves, fn)
        sync()
        times = []
        for _ in range(spec['repeats']):
            sync()
            start = time.perf_counter()
            step(leaves, fn)
            sync()
            times.append(1e3 * (time.perf_counter() - start))
        peak = (torch.cuda.max_memory_allocated() if cuda else
                _proc_status_kib('VmHWM') * 1024) - base
        result.update(time_ms=statistics.median(times), times_ms=times,
                      peak_extra_mib=max(peak, 0) / MIB,
                      threads=torch.get_num_threads())
    except Exception as exc:  # noqa: BLE001  (reported, not raised)
        kind = 'OOM' if _is_oom(exc) else 'error'
        message = ' '.join(str(exc).split())[:120]
        result = {'status': f'{kind} ({type(exc).__name__}: {message})'}
        print(f'{type(exc).__name__}: {exc}', file=sys.stderr)
    print(RESULT_TAG + json.dumps(result), flush=True)


# -------------------------------------------------------------------- parent


def launch(spec, timeout):
    """Run one case in a subprocess; return the child's result dict."""
    cmd = [sys.executable, os.path.abspath(__file__), '--_case',
           json.dumps(spec)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {'status': f'timeout (> {timeout:g} s)'}
    for line in reversed(out.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    tail = [line for line in err.splitlines() if line.strip()][-5:]
    if proc.returncode < 0:
        sig = signal.Signals(-proc.returncode).name
        kind = 'OOM' if sig == 'SIGKILL' else 'error'
        status = f'{kind} (killed by {sig})'
    else:
        last = tail[-1] if tail else 'no output'
        status = f'error (exit {proc.returncode}: {last})'
    return {'status': status, 'stderr_tail': tail}


def device_name(device):
    """Human-readable name of the benchmarked device."""
    if device == 'cuda':
        return torch.cuda.get_device_name(0)
    try:
        with open('/proc/cpuinfo') as f:
            cpuinfo = f.read()
        return re.search(r'model name\s*:\s*(.*)', cpuinfo).group(1).strip()
    except (OSError, AttributeError):
        return platform.processor() or platform.machine()


def make_header(args):
    """Environment description stored with the results."""
    try:
        import triton
        triton_version = triton.__version__
    except ImportError:
        triton_version = None
    return {
        'device': args.device,
        'device_name': device_name(args.device),
        'torch': torch.__version__,
        'triton': triton_version,
        'python': platform.python_version(),
        'cpu_count': os.cpu_count(),
        'torch_threads': torch.get_num_threads(),
        'date': datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec='seconds'),
        'command': ' '.join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
        'repeats': args.repeats,
        'case_timeout_s': args.case_timeout,
        'peak_tflops': args.peak_tflops,
        'temperature': TEMPERATURE,
        'notes': __doc__[__doc__.index('Workloads'):].strip(),
    }


def ratios(cases):
    """Attach time/memory ratios against the reference of the same op, N, D."""
    refs = {(c['op'], c['n'], c['d']): c for c in cases
            if c['backend'] == 'reference' and c['status'] == 'ok'}
    for case in cases:
        ref = refs.get((case['op'], case['n'], case['d']))
        ok = case['status'] == 'ok' and ref is not None and case is not ref
        case['time_ratio'] = case['time_ms'] / ref['time_ms'] if ok else None
        ok_memory = ok and ref['peak_extra_mib'] > 0
        case['memory_ratio'] = (case['peak_extra_mib'] /
                                ref['peak_extra_mib'] if ok_memory else None)


def format_table(cases):
    """Plain-text table, grouped by op, N, D, backend."""
    order = {name: i for i, name in enumerate(OPS + BACKENDS)}

    def num(value, fmt):
        return '-' if value is None else format(value, fmt)

    rows = [('op', 'N', 'D', 'backend', 'dtype', 'time ms', 'peak extra MiB',
             'time/ref', 'mem/ref', 'status')]
    for c in sorted(cases, key=lambda c: (order[c['op']], c['n'], c['d'],
                                          order[c['backend']])):
        ok = c['status'] == 'ok'
        rows.append((c['op'], str(c['n']), str(c['d']), c['backend'],
                     c['dtype'], num(c.get('time_ms'), '.1f'),
                     num(c.get('peak_extra_mib'), '.1f'),
                     num(c['time_ratio'], '.2f'),
                     num(c['memory_ratio'], '.3f'),
                     '' if ok else c['status']))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ['  '.join(cell.rjust(w) if 5 <= i < 9 else cell.ljust(w)
                       for i, (cell, w) in enumerate(zip(row, widths)))
             .rstrip() for row in rows]
    lines.insert(1, '-' * len(lines[0]))
    return '\n'.join(lines)


def write_json(path, header, cases):
    """Write header + cases (rewritten after every case)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump({'header': header, 'cases': cases}, f, indent=1)
        f.write('\n')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Time densecl.ops backends, one subprocess per case')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu')
    parser.add_argument('--json', help='write results here (required)')
    parser.add_argument('--ops', nargs='+', choices=OPS, default=list(OPS))
    parser.add_argument(
        '--sizes', nargs='+', type=int,
        help=f'N values (default {CPU_SIZES}, plus 131072 on cuda)')
    parser.add_argument('--dims', nargs='+', type=int, default=list(DIMS))
    parser.add_argument('--backends', nargs='+', choices=BACKENDS,
                        help='default: reference torch (cpu); all (cuda)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='timed runs per case, after one warm-up')
    parser.add_argument('--case-timeout', type=float, default=900.0,
                        help='seconds before a case is killed (timeout)')
    parser.add_argument('--peak-tflops', type=float, default=989.0,
                        help='peak dense bf16 TFLOP/s for the utilisation '
                        'line (989: H100/H200 SXM)')
    parser.add_argument('--_case', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._case is None and args.json is None:
        parser.error('--json PATH is required')
    return args


def run_sweep(args, header, plan):
    """Run (or estimate as OOM / skip) every planned case, in order."""
    cases, failed = [], {}
    for i, (op, n, d, backend) in enumerate(plan, 1):
        dtype = case_dtype(args.device, backend)
        need = estimate_bytes(op, backend, n, d, dtype.itemsize)
        budget = memory_budget(args.device)
        spec = {'op': op, 'backend': backend, 'n': n, 'd': d,
                'device': args.device,
                'dtype': str(dtype).replace('torch.', ''),
                'repeats': args.repeats, 'budget': budget}
        case = dict(spec, workload=workload(op, n, d),
                    estimated_gib=need / GIB, budget_gib=budget / GIB)
        del case['repeats'], case['budget']
        earlier = failed.get((op, backend, d))
        if need > budget:
            result = {'status': f'OOM (would need {need / GIB:.1f} GiB)'}
        elif earlier:
            result = {'status': f'skipped ({earlier})'}
        else:
            result = launch(spec, args.case_timeout)
            kind = result['status'].split()[0]
            if kind in ('timeout', 'OOM'):
                failed[(op, backend, d)] = f'{kind} at N={n}'
        case.update(result)
        flops = flop_count(op, n, d)
        if flops and case['status'] == 'ok':
            case['tflops'] = flops / (case['time_ms'] * 1e-3) / 1e12
        cases.append(case)
        done = (f"{case['time_ms']:.1f} ms, {case['peak_extra_mib']:.1f} MiB"
                if case['status'] == 'ok' else case['status'])
        print(f'[{i}/{len(plan)}] {op} N={n} D={d} {backend} '
              f"{case['dtype']}: {done}", file=sys.stderr, flush=True)
        write_json(args.json, header, cases)
    return cases


def main(argv=None):
    args = parse_args(argv)
    if args._case is not None:
        run_case(json.loads(args._case))
        return
    cuda = args.device == 'cuda'
    if cuda and not torch.cuda.is_available():
        sys.exit('error: --device cuda but CUDA is not available '
                 f'(torch {torch.__version__}, '
                 f'built with CUDA {torch.version.cuda}); use --device cpu')
    backends = args.backends or (list(BACKENDS) if cuda else
                                 ['reference', 'tiled'])
    if not cuda and 'flex' in backends:
        sys.exit('error: the flex backend needs --device cuda '
                 '(FlexAttention has no CPU backward)')
    sizes = sorted(args.sizes or (CUDA_SIZES if cuda else CPU_SIZES))
    plan = [(op, n, d, backend) for op in args.ops for d in args.dims
            for n in sizes for backend in backends
            if backend != 'flex' or op in FLEX_OPS]
    header = make_header(args)
    cases = run_sweep(args, header, plan)
    ratios(cases)
    write_json(args.json, header, cases)
    print(f"{header['device_name']} | torch {header['torch']} | "
          f"triton {header['triton']} | {header['cpu_count']} CPUs | "
          f"{header['date']}")
    print(format_table(cases))
    for c in cases:
        if (cuda and 'tflops' in c and c['backend'] == 'triton'
                and (c['op'], c['n'], c['d']) == ('supcon_loss', 131072, 128)):
            print(f"supcon_loss N=131072 D=128 {c['dtype']} triton: "
                  f"{c['tflops']:.1f} TFLOP/s (8 N^2 D / time) = "
                  f"{100 * c['tflops'] / args.peak_tflops:.1f}% of "
                  f"{args.peak_tflops:g} TFLOP/s peak")
    print(f'wrote {args.json}')


if __name__ == '__main__':
    main()
