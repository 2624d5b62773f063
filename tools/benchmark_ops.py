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
* ``pixel_contrast_loss``: as supcon_loss (ContrastiveSeg's loss, base
  temperature 0.07).
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

FLOPs are counted twice. ``flops`` as each path executes them (see
``logsumexp_flops``: e.g. the fused Triton self-contrast does 6 N^2 D forward
+ backward, the tiled path 8, pixel_contrast_loss two such passes).
``useful_flops`` is the work of the problem whatever the path: the forward
similarity matmul plus one matmul per input role with a gradient, no
recomputation, on the rows that count (non-ignored labels), i.e. the
reference autograd's count: 6 N^2 D for supcon_loss, pixel_contrast_loss
and pixel_logsumexp (q and k roles of one z), 4 N Q D for info_nce (dq
only), 2 B L^2 (3 D + 3 E) for pixel_propagation and 12 N K D for
prototype_cross_entropy (on [f, f^2] . [mu, var / 2t], f and mu).

The figure of merit compares with a plain GEMM timed in the same process and
dtype, *interleaved* with the op so that both see the same machine load:
``torch.mm`` on the case's GEMM shape (rows capped at 2^26 outputs), called
as often as gives the op's useful FLOPs. After a warm-up of each, the timed
runs alternate GEMM, op, GEMM, op, ...; each pair gives the ratio of the
op's useful FLOP rate to the GEMM's FLOP rate, and ``gemm_fraction`` ("of
GEMM") is the median of these ratios: 1.0 is the useful work done at plain
matmul speed. Load that slows a pair slows both of its halves, so the ratio
survives it where the times do not.

A benchmarked function is one ``OPS`` entry: a builder returning a ``Case``
(inputs, loss closure, FLOPs, GEMM shape) and its workload shapes.
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
import typing

import torch

import densecl.ops as ops

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
# Non-reference backends: input-sized copies plus tile workspace.
STREAMING_COPIES = 4
STREAMING_WORKSPACE = 256 * 2**20
# The GEMM baseline runs on at most this many output elements (256 MiB fp32).
GEMM_MAX_OUTPUT = 2**26
GIB = 2**30
MIB = 2**20


class Inputs:
    """Makes a case's tensors from one seeded generator, on its device and dtype."""

    def __init__(self, device, dtype, seed=0):
        self.gen = torch.Generator().manual_seed(seed)
        self.device, self.dtype = device, dtype

    def tensor(self, *shape, unit=True, grad=True):
        x = torch.randn(*shape, generator=self.gen)
        if unit:
            x = torch.nn.functional.normalize(x, dim=-1)
        return x.to(device=self.device, dtype=self.dtype).requires_grad_(grad)

    def labels(self, n):
        """Labels in [0, NUM_CLASSES) with ~5% IGNORE_INDEX."""
        labels = torch.randint(0, NUM_CLASSES, (n, ), generator=self.gen)
        labels[torch.rand(n, generator=self.gen) < 0.05] = IGNORE_INDEX
        return labels.to(self.device)


class Case(typing.NamedTuple):
    """One built case: inputs with gradients, the loss closure, what it executes."""
    leaves: list
    run: typing.Callable
    flops: int             # forward + backward, as the chosen path executes them
    useful_flops: int      # forward + backward of the problem (see the module docstring)
    gemm_shape: tuple      # (rows, inner, cols) of the GEMM that sets the figure of merit


def logsumexp_flops(backend, n, m, d, self_contrast, need_k):
    """Forward + backward FLOPs of an (n, m, d) log-sum-exp as each path executes it.

    Counted in (n, m, d) matmuls (2 n m d each): the reference's autograd does
    the forward and one per input gradient (both inputs when q is k); the tiled
    path recomputes the similarities in the backward, then dq and dk; every
    Triton backward kernel recomputes them, and with q is k one fused kernel
    adds both roles (3 in all, 6 n^2 d); FlexAttention with q = k = v computes
    QK and PV forward and QK, dV, dP, dQ, dK backward.
    """
    grads = 2 if self_contrast or need_k else 1
    matmuls = {
        'reference': 1 + grads,
        'tiled': 2 + grads,
        'triton': 3 if self_contrast else 1 + 2 * grads,
        'flex': 7,
    }[backend]
    return matmuls * 2 * n * m * d


def build_supcon(make, backend, w):
    z, labels = make.tensor(w['N'], w['D']), make.labels(w['N'])
    valid = int((labels != IGNORE_INDEX).sum())
    # The fused paths drop ignored pixels first; the reference keeps the full matrix.
    rows = w['N'] if backend == 'reference' else valid
    return Case([z], lambda: ops.supcon_loss(z, labels, TEMPERATURE, backend=backend),
                logsumexp_flops(backend, rows, rows, w['D'], True, True),
                logsumexp_flops('reference', valid, valid, w['D'], True, True),
                (w['N'], w['D'], w['N']))


def build_pixel_contrast(make, backend, w):
    z, labels = make.tensor(w['N'], w['D']), make.labels(w['N'])
    valid = int((labels != IGNORE_INDEX).sum())
    rows = w['N'] if backend == 'reference' else valid
    flops = logsumexp_flops(backend, rows, rows, w['D'], True, True)
    if backend != 'reference':
        # two tiled passes executed like the log-sum-exp: the negatives' LSE,
        # then the positives' softplus (its gradient also reaches the offset)
        flops *= 2
    return Case([z], lambda: ops.pixel_contrast_loss(z, labels, TEMPERATURE, backend=backend),
                flops, logsumexp_flops('reference', valid, valid, w['D'], True, True),
                (w['N'], w['D'], w['N']))


def build_pixel_logsumexp(make, backend, w):
    q = make.tensor(w['N'], w['D'])
    return Case([q], lambda: ops.pixel_logsumexp(q, temperature=TEMPERATURE, backend=backend),
                logsumexp_flops(backend, w['N'], w['N'], w['D'], True, True),
                logsumexp_flops('reference', w['N'], w['N'], w['D'], True, True),
                (w['N'], w['D'], w['N']))


def build_info_nce(make, backend, w):
    q, k = make.tensor(w['N'], w['D']), make.tensor(w['N'], w['D'])
    negatives = make.tensor(w['Q'], w['D'], grad=False)
    return Case([q, k], lambda: ops.info_nce(q, k, negatives, TEMPERATURE, backend=backend),
                logsumexp_flops(backend, w['N'], w['Q'], w['D'], False, False),
                logsumexp_flops('reference', w['N'], w['Q'], w['D'], False, False),
                (w['N'], w['D'], w['Q']))


def build_pixel_propagation(make, backend, w):
    x = make.tensor(w['B'], w['L'], w['D'])
    value = make.tensor(w['B'], w['L'], w['E'], unit=False)
    # Per image, in L^2 D and L^2 E units of 2 FLOPs: the forward computes s and
    # w @ value; the backward recomputes s, then (reference: dvalue, dw, dx from
    # both sides of s; tiled: the same, dx in two matmuls; triton: dvalue, dw
    # twice for the symmetric term, dx once).
    # The reference's count is the useful one.
    units = {'reference': (3, 3), 'tiled': (4, 3), 'triton': (3, 4)}

    def flops(path):
        d_units, e_units = units[path]
        return 2 * w['B'] * w['L']**2 * (d_units * w['D'] + e_units * w['E'])

    return Case([x, value], lambda: ops.pixel_propagation(x, value, 2.0, backend=backend),
                flops(backend), flops('reference'), (w['L'], w['D'], w['L']))


def build_prototype_cross_entropy(make, backend, w):
    f, mu = make.tensor(w['N'], w['D']), make.tensor(w['K'], w['D'])
    var = (0.5 + torch.rand(w['K'], w['D'], generator=make.gen)).to(make.device, make.dtype)
    labels = make.labels(w['N'])
    rows = int((labels != IGNORE_INDEX).sum())
    if backend == 'reference':
        # An (N, K, D) broadcast, 2 FLOPs per element: the mean and variance terms
        # forward, d f from both and d mu backward.
        flops = 5 * 2 * w['N'] * w['K'] * w['D']
    else:
        # The primitive on [f, f^2] . [mu, var / 2t]: feature dim 2 D.
        flops = logsumexp_flops(backend, rows, w['K'], 2 * w['D'], False, True)
    useful = logsumexp_flops('reference', rows, w['K'], 2 * w['D'], False, True)
    return Case([f, mu], lambda: ops.prototype_cross_entropy(
        f, mu, labels, TEMPERATURE, var=var, backend=backend), flops, useful,
        (w['N'], 2 * w['D'], w['K']))


def build_flex(make, backend, w):
    """FlexAttention's return_lse with q = k = v = z, the diagonal removed."""
    from torch.nn.attention.flex_attention import flex_attention
    flex = torch.compile(flex_attention, dynamic=False)
    n, d = w['N'], w['D']
    z = make.tensor(n, d)

    def no_diagonal(score, b, h, q_idx, kv_idx):
        return torch.where(q_idx == kv_idx, -float('inf'), score)

    def run():
        q = z.view(1, 1, n, d)
        return flex(q, q, q, score_mod=no_diagonal, scale=1.0 / TEMPERATURE, return_lse=True)[1]

    return Case([z], run, logsumexp_flops('flex', n, n, d, True, True),
                logsumexp_flops('reference', n, n, d, True, True), (n, d, n))


class Op(typing.NamedTuple):
    """A benchmarked function: its workload at (N, D), its builder, its dense size."""
    build: typing.Callable           # (Inputs, backend, workload) -> Case
    workload: typing.Callable        # (n, d) -> dict of shape parameters
    input_rows: typing.Callable      # workload -> rows of D-wide inputs
    dense: typing.Callable           # workload -> elements of the reference's dense term
    # fp32 copies of the dense term alive at the reference's peak; measured on
    # CPU at N = 8192 (6.0, 4.3, 3.0, 5.4, 2.3; pixel_contrast_loss 9.3) and rounded up.
    reference_copies: float


OPS = {
    'supcon_loss': Op(build_supcon, lambda n, d: {}, lambda w: w['N'],
                      lambda w: w['N']**2, 6.5),
    'pixel_contrast_loss': Op(build_pixel_contrast, lambda n, d: {}, lambda w: w['N'],
                              lambda w: w['N']**2, 10),
    'pixel_logsumexp': Op(build_pixel_logsumexp, lambda n, d: {}, lambda w: w['N'],
                          lambda w: w['N']**2, 4.5),
    'info_nce': Op(build_info_nce, lambda n, d: {'Q': n}, lambda w: 2 * w['N'] + w['Q'],
                   lambda w: w['N'] * w['Q'], 3.5),
    'pixel_propagation': Op(
        build_pixel_propagation,
        lambda n, d: {'B': max(1, n // 4096), 'L': n // max(1, n // 4096), 'E': d},
        lambda w: 2 * w['B'] * w['L'], lambda w: w['B'] * w['L']**2, 6),
    'prototype_cross_entropy': Op(build_prototype_cross_entropy, lambda n, d: {'K': NUM_CLASSES},
                                  lambda w: w['N'], lambda w: w['N'] * w['K'] * w['D'], 3),
}


def workload(op, n, d):
    """Shape parameters of the benchmark workload for ``op`` at size N, D."""
    return dict(OPS[op].workload(n, d), N=n, D=d)


def case_dtype(device, backend):
    """Input dtype of a case: bf16 for triton/flex on CUDA, else fp32."""
    if device == 'cuda' and backend in ('triton', 'flex'):
        return torch.bfloat16
    return torch.float32


def estimate_bytes(op, backend, n, d, itemsize):
    """Rough peak extra memory of one forward+backward, in bytes."""
    w = workload(op, n, d)
    inputs = OPS[op].input_rows(w) * d * itemsize
    if backend != 'reference':
        return STREAMING_COPIES * inputs + STREAMING_WORKSPACE
    return int(2 * inputs + OPS[op].reference_copies * OPS[op].dense(w) * 4)


def memory_budget(device):
    """Bytes a case may use: 70% of MemAvailable (CPU), 90% of free (CUDA)."""
    if device == 'cuda':
        return int(0.9 * torch.cuda.mem_get_info()[0])
    with open('/proc/meminfo') as f:
        avail_kib = int(re.search(r'MemAvailable:\s+(\d+)', f.read()).group(1))
    return int(0.7 * avail_kib * 1024)


# --------------------------------------------------------------------- child


def _proc_status_kib(field):
    with open('/proc/self/status') as f:
        return int(re.search(field + r':\s+(\d+)', f.read()).group(1))


def build_case(op, backend, n, d, device, dtype, seed=0):
    """The inputs and loss closure of ``op`` at (N, D) on ``backend``."""
    build = build_flex if backend == 'flex' else OPS[op].build
    return build(Inputs(device, dtype, seed), backend, workload(op, n, d))


class Gemm(typing.NamedTuple):
    """The GEMM baseline of a case: ``calls`` x ``torch.mm`` of ``shape``, ``flops`` in all."""
    shape: tuple
    calls: int
    flops: int
    run: typing.Callable


def make_gemm(shape, useful_flops, device, dtype):
    """``torch.mm`` for (rows, inner) x (inner, cols), repeated to the case's useful FLOPs.

    Rows are capped so that the output stays under GEMM_MAX_OUTPUT elements:
    the throughput of a plain GEMM with the case's inner and column sizes.
    """
    rows, inner, cols = shape
    rows = min(rows, max(1, GEMM_MAX_OUTPUT // cols))
    per_call = 2 * rows * inner * cols
    calls = max(1, round(useful_flops / per_call))
    a = torch.randn(rows, inner, device=device).to(dtype)
    b = torch.randn(cols, inner, device=device).to(dtype)
    out = torch.empty(rows, cols, device=device, dtype=dtype)

    def run():
        for _ in range(calls):
            torch.mm(a, b.t(), out=out)

    return Gemm((rows, inner, cols), calls, calls * per_call, run)


def timed(fn, sync, clock=time.perf_counter):
    """Seconds of one call of ``fn``, synchronised before and after (CUDA)."""
    sync()
    start = clock()
    fn()
    sync()
    return clock() - start


def interleaved_times(gemm, op, repeats, sync, clock=time.perf_counter):
    """(GEMM seconds, op seconds) of ``repeats`` pairs run as gemm, op, gemm, op, ..."""
    pairs = [(timed(gemm, sync, clock), timed(op, sync, clock)) for _ in range(repeats)]
    return [g for g, _ in pairs], [o for _, o in pairs]


def paired_gemm_ratios(gemm_times, op_times, useful_flops, gemm_flops):
    """Per pair, the op's useful FLOP rate over the GEMM's FLOP rate, and their median."""
    ratios = [(useful_flops / op) / (gemm_flops / gemm)
              for gemm, op in zip(gemm_times, op_times, strict=True)]
    return ratios, statistics.median(ratios)


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

    def step(case):
        for leaf in case.leaves:
            leaf.grad = None
        case.run().sum().backward()

    try:
        # A small pre-run pages in kernels, starts threads and JIT-compiles,
        # so none of that is counted as the op's memory.
        step(build_case(spec['op'], spec['backend'], PRE_RUN_N, spec['d'],
                        device, dtype))
        sync()
        case = build_case(spec['op'], spec['backend'], spec['n'], spec['d'],
                          device, dtype)
        # The GEMM's buffers exist and it has run once before the memory base is read,
        # so its interleaved runs add nothing to the op's peak.
        gemm = make_gemm(case.gemm_shape, case.useful_flops, device, dtype)
        timed(gemm.run, sync)
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
        step(case)
        sync()
        gemm_times, op_times = interleaved_times(gemm.run, lambda: step(case),
                                                 spec['repeats'], sync)
        peak = (torch.cuda.max_memory_allocated() if cuda else
                _proc_status_kib('VmHWM') * 1024) - base
        time_ms = 1e3 * statistics.median(op_times)
        pair_ratios, gemm_fraction = paired_gemm_ratios(gemm_times, op_times,
                                                        case.useful_flops, gemm.flops)
        result.update(time_ms=time_ms, times_ms=[1e3 * t for t in op_times],
                      peak_extra_mib=max(peak, 0) / MIB,
                      threads=torch.get_num_threads(), flops=case.flops,
                      useful_flops=case.useful_flops,
                      tflops=case.flops / (time_ms * 1e-3) / 1e12,
                      useful_tflops=case.useful_flops / (time_ms * 1e-3) / 1e12,
                      gemm_shape=gemm.shape, gemm_calls=gemm.calls, gemm_flops=gemm.flops,
                      gemm_times_ms=[1e3 * t for t in gemm_times],
                      gemm_tflops=gemm.flops / statistics.median(gemm_times) / 1e12,
                      pair_ratios=pair_ratios, gemm_fraction=gemm_fraction)
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
    """Plain-text table, grouped by op, N, D, backend.

    ``useful GFLOP`` is the problem's work, ``exec/useful`` how much more the
    path executes (recomputation, extra passes); ``GFLOP/s`` counts the FLOPs
    each path executes; ``of GEMM`` is the median over interleaved pairs of the
    useful FLOP rate over the ``torch.mm`` rate (the figure of merit: 1.0 would
    be the useful work at plain matmul speed).
    """
    order = {name: i for i, name in enumerate(list(OPS) + list(BACKENDS))}

    def num(value, fmt, scale=1):
        return '-' if value is None else format(value * scale, fmt)

    rows = [('op', 'N', 'D', 'backend', 'dtype', 'time ms', 'peak extra MiB',
             'time/ref', 'mem/ref', 'useful GFLOP', 'exec/useful', 'GFLOP/s', 'of GEMM',
             'status')]
    numeric = range(5, 13)
    for c in sorted(cases, key=lambda c: (order[c['op']], c['n'], c['d'],
                                          order[c['backend']])):
        ok = c['status'] == 'ok'
        useful = c.get('useful_flops')
        rows.append((c['op'], str(c['n']), str(c['d']), c['backend'],
                     c['dtype'], num(c.get('time_ms'), '.1f'),
                     num(c.get('peak_extra_mib'), '.1f'),
                     num(c['time_ratio'], '.2f'),
                     num(c['memory_ratio'], '.3f'),
                     num(useful, '.3g', 1e-9),
                     num(useful and c['flops'] / useful, '.2f'),
                     num(c.get('tflops'), '.1f', 1e3),
                     num(c.get('gemm_fraction'), '.2f'),
                     '' if ok else c['status']))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ['  '.join(cell.rjust(w) if i in numeric else cell.ljust(w)
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
                  f"{c['tflops']:.1f} TFLOP/s (FLOPs as executed / time) = "
                  f"{100 * c['tflops'] / args.peak_tflops:.1f}% of "
                  f"{args.peak_tflops:g} TFLOP/s peak")
    print(f'wrote {args.json}')


if __name__ == '__main__':
    main()
