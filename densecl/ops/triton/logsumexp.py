"""Fused masked log-sum-exp of scaled similarities, ``lse_i = log sum_j exp(q_i.k_j / T)``.

The (N, M) similarity matrix is never materialised: the forward kernel streams
column tiles of ``k`` past a row tile of ``q`` kept in registers and keeps an
online (running max, running sum) pair per row, FlashAttention style (Dao et
al. 2022). The backward recomputes the similarities from the saved per-row
LSE. ``dq`` and ``dk`` come from two kernels, one parallel over row blocks and
one over column blocks, so every output element is written by exactly one
program (no atomics, deterministic). When ``q is k`` (self-contrast) a single
row-parallel kernel adds both contributions, which halves the backward matmuls.
With labels (``HAS_LABELS``) a column is left out of row i when its label
equals row i's, so the sum runs over the negatives only; the labels are
compared per tile, never stored as an (N, M) mask.

Everything is computed in base 2 (``exp2``/``log2``) with the factor
``log2(e) / T`` folded into one multiply of the fp32 similarity tile.
"""
import os

import torch
import triton
import triton.language as tl

INTERPRET = os.environ.get('TRITON_INTERPRET') == '1'
MAX_BLOCK_D = 256
_LOG2E = 1.4426950408889634
_LN2 = 0.6931471805599453


def autotune_configs(gpu, interpret):
    """Triton configs from ``(block_a, block_b, warps, stages)`` tuples.

    The interpreter gets exactly one config: benchmarking several configs needs
    a GPU.
    """
    rows = [interpret] if INTERPRET else gpu
    return [
        triton.Config({'BLOCK_M': bm, 'BLOCK_N': bn}, num_warps=w, num_stages=s)
        for bm, bn, w, s in rows
    ]


def dot_precision(dtype):
    """fp32/fp64 inputs get exact products (no silent TF32); 16-bit ones use tensor cores."""
    return 'ieee' if dtype in (torch.float32, torch.float64) else 'tf32'


_LSE_CONFIGS = autotune_configs(
    gpu=[(128, 64, 4, 3), (128, 128, 8, 2), (128, 64, 8, 3), (64, 64, 4, 3),
         (64, 128, 4, 2)],
    interpret=(32, 32, 1, 1))
_LSE_KEY = ['BLOCK_D', 'HAS_MASK', 'EXCLUDE_SELF', 'HAS_LABELS']


@triton.jit
def load_selected_rows(PTR, offs, ok, offs_d, D):
    """The (rows, BLOCK_D) tile of a row-major (n, D) matrix, 0 in the rows where ``ok`` is False.

    A left-out row must add nothing whatever it holds: a NaN or inf loaded
    from it would survive its -inf bias or zero weight (NaN - inf and inf * 0
    are NaN).
    """
    return tl.load(PTR + offs[:, None] * D + offs_d[None, :],
                   mask=ok[:, None] & (offs_d[None, :] < D), other=0.0)


@triton.jit
def load_rows(PTR, offs, n, offs_d, D):
    """The (rows, BLOCK_D) tile of a row-major (n, D) matrix, zero-padded."""
    return load_selected_rows(PTR, offs, offs < n, offs_d, D)


@triton.jit
def load_labels(LABELS, offs, n):
    """Labels at ``offs``; -1 past the end (those rows or columns are masked anyway)."""
    return tl.load(LABELS + offs, mask=offs < n, other=-1)


@triton.jit
def _usable(KMASK, offs_n, M, HAS_MASK: tl.constexpr):
    """True for usable columns: in range and selected by k_mask."""
    ok = offs_n < M
    if HAS_MASK:
        ok = ok & (tl.load(KMASK + offs_n, mask=ok, other=0) != 0)
    return ok


@triton.jit
def _bias(usable):
    """0 for usable columns, -inf for the others."""
    return tl.where(usable, 0.0, float('-inf'))


@triton.autotune(configs=_LSE_CONFIGS, key=_LSE_KEY)
@triton.jit
def _lse_fwd_kernel(Q, K, KMASK, QLAB, KLAB, LSE, N, M, D, scale,
                    HAS_MASK: tl.constexpr, EXCLUDE_SELF: tl.constexpr,
                    HAS_LABELS: tl.constexpr,
                    BLOCK_D: tl.constexpr, DOT_PREC: tl.constexpr,
                    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """One program per BLOCK_M rows: online max/sum over all column tiles of k."""
    start_m = tl.program_id(0) * BLOCK_M
    offs_m = start_m + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    q = load_rows(Q, offs_m, N, offs_d, D)
    if HAS_LABELS:
        lab_m = load_labels(QLAB, offs_m, N)
    m_i = tl.full([BLOCK_M], float('-inf'), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    for start_n in range(0, M, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        usable_n = _usable(KMASK, offs_n, M, HAS_MASK)
        k = load_selected_rows(K, offs_n, usable_n, offs_d, D)
        # s in base-2 units: log2(e) * q.k / T, masked columns at -inf.
        s = tl.dot(q, tl.trans(k), input_precision=DOT_PREC) * scale
        s = s + _bias(usable_n)[None, :]
        if EXCLUDE_SELF:
            if (start_n < start_m + BLOCK_M) & (start_n + BLOCK_N > start_m):
                s = tl.where(offs_m[:, None] == offs_n[None, :], float('-inf'), s)
        if HAS_LABELS:
            lab_n = load_labels(KLAB, offs_n, M)
            s = tl.where(lab_m[:, None] == lab_n[None, :], float('-inf'), s)
        m_new = tl.maximum(m_i, tl.max(s, 1))
        # A row that has seen only masked columns keeps m = -inf; shift by 0
        # instead so that exp2 never sees (-inf) - (-inf).
        m_safe = tl.where(m_new == float('-inf'), 0.0, m_new)
        p = tl.exp2(s - m_safe[:, None])
        l_i = l_i * tl.exp2(m_i - m_safe) + tl.sum(p, 1)
        m_i = m_new
    nonempty = l_i > 0.0
    lse = (m_i + tl.log2(tl.where(nonempty, l_i, 1.0))) * 0.6931471805599453
    lse = tl.where(nonempty, lse, float('-inf'))
    tl.store(LSE + offs_m, lse, mask=offs_m < N)


@triton.jit
def _row_stats(LSE, G, offs, N, grad_scale):
    """Per-row (lse in base 2, g / T, active); inactive rows give P = 0.

    A row is inactive when it is out of range, empty (lse -inf) or gets no
    upstream gradient: its lse is replaced by +inf so that exp2(s - lse) = 0
    for every column, and its callers load it as zeros, so that whatever it
    holds (a NaN query that is a masked key in self-contrast) adds nothing.
    """
    ok = offs < N
    lse = tl.load(LSE + offs, mask=ok, other=float('-inf'))
    gs = tl.load(G + offs, mask=ok, other=0.0) * grad_scale
    active = (lse != float('-inf')) & (gs != 0.0)
    lse2 = tl.where(active, lse * 1.4426950408889634, float('inf'))
    return lse2, gs, active


@triton.autotune(configs=_LSE_CONFIGS, key=_LSE_KEY + ['SELF'])
@triton.jit
def _lse_bwd_dq_kernel(Q, K, KMASK, QLAB, KLAB, LSE, G, DQ, N, M, D, scale, grad_scale,
                       HAS_MASK: tl.constexpr, EXCLUDE_SELF: tl.constexpr,
                       HAS_LABELS: tl.constexpr, SELF: tl.constexpr,
                       BLOCK_D: tl.constexpr, DOT_PREC: tl.constexpr,
                       BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """dq_i = sum_j g_i P_ij k_j / T, row-parallel.

    With SELF (q is k, so N == M, and one label tensor) it also adds the
    column term sum_j g_j P_ji q_j / T, using s_ji = s_ij, the mask of column
    i and the symmetric label test.
    """
    start_m = tl.program_id(0) * BLOCK_M
    offs_m = start_m + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    d_ok = offs_d < D
    lse2_i, gs_i, active_i = _row_stats(LSE, G, offs_m, N, grad_scale)
    if SELF:
        # Row i is also column i of the term with row j: keep it if either role needs it.
        usable_i = _usable(KMASK, offs_m, M, HAS_MASK)
        q = load_selected_rows(Q, offs_m, active_i | usable_i, offs_d, D)
        bias_i = _bias(usable_i)
    else:
        q = load_selected_rows(Q, offs_m, active_i, offs_d, D)
    if HAS_LABELS:
        lab_m = load_labels(QLAB, offs_m, N)
    acc = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    for start_n in range(0, M, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        usable_n = _usable(KMASK, offs_n, M, HAS_MASK)
        if SELF:
            lse2_j, gs_j, active_j = _row_stats(LSE, G, offs_n, N, grad_scale)
            k = load_selected_rows(K, offs_n, usable_n | active_j, offs_d, D)
        else:
            k = load_selected_rows(K, offs_n, usable_n, offs_d, D)
        s = tl.dot(q, tl.trans(k), input_precision=DOT_PREC) * scale
        p = tl.exp2(s + _bias(usable_n)[None, :] - lse2_i[:, None])
        ds = p * gs_i[:, None]
        if SELF:
            p_t = tl.exp2(s + bias_i[:, None] - lse2_j[None, :])
            ds += p_t * gs_j[None, :]
        if EXCLUDE_SELF:
            if (start_n < start_m + BLOCK_M) & (start_n + BLOCK_N > start_m):
                ds = tl.where(offs_m[:, None] == offs_n[None, :], 0.0, ds)
        if HAS_LABELS:
            lab_n = load_labels(KLAB, offs_n, M)
            ds = tl.where(lab_m[:, None] == lab_n[None, :], 0.0, ds)
        acc += tl.dot(ds.to(k.dtype), k, input_precision=DOT_PREC)
    tl.store(DQ + offs_m[:, None] * D + offs_d[None, :], acc,
             mask=(offs_m[:, None] < N) & d_ok[None, :])


@triton.autotune(configs=_LSE_CONFIGS, key=_LSE_KEY)
@triton.jit
def _lse_bwd_dk_kernel(Q, K, KMASK, QLAB, KLAB, LSE, G, DK, N, M, D, scale, grad_scale,
                       HAS_MASK: tl.constexpr, EXCLUDE_SELF: tl.constexpr,
                       HAS_LABELS: tl.constexpr, BLOCK_D: tl.constexpr, DOT_PREC: tl.constexpr,
                       BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """dk_j = sum_i g_i P_ij q_i / T, column-parallel.

    BLOCK_N here is the size of this program's column tile and BLOCK_M the
    streamed row tile; the similarity tile is built transposed, (cols, rows),
    so that no register tile needs transposing before the second dot.
    """
    start_n = tl.program_id(0) * BLOCK_N
    offs_n = start_n + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    d_ok = offs_d < D
    usable_n = _usable(KMASK, offs_n, M, HAS_MASK)
    k = load_selected_rows(K, offs_n, usable_n, offs_d, D)
    bias_n = _bias(usable_n)
    if HAS_LABELS:
        lab_n = load_labels(KLAB, offs_n, M)
    acc = tl.zeros([BLOCK_N, BLOCK_D], tl.float32)
    for start_m in range(0, N, BLOCK_M):
        offs_m = start_m + tl.arange(0, BLOCK_M)
        lse2_i, gs_i, active_i = _row_stats(LSE, G, offs_m, N, grad_scale)
        q = load_selected_rows(Q, offs_m, active_i, offs_d, D)
        s_t = tl.dot(k, tl.trans(q), input_precision=DOT_PREC) * scale
        ds_t = tl.exp2(s_t + bias_n[:, None] - lse2_i[None, :]) * gs_i[None, :]
        if EXCLUDE_SELF:
            if (start_m < start_n + BLOCK_N) & (start_m + BLOCK_M > start_n):
                ds_t = tl.where(offs_n[:, None] == offs_m[None, :], 0.0, ds_t)
        if HAS_LABELS:
            lab_m = load_labels(QLAB, offs_m, N)
            ds_t = tl.where(lab_n[:, None] == lab_m[None, :], 0.0, ds_t)
        acc += tl.dot(ds_t.to(q.dtype), q, input_precision=DOT_PREC)
    tl.store(DK + offs_n[:, None] * D + offs_d[None, :], acc,
             mask=(offs_n[:, None] < M) & d_ok[None, :])


def _block_d(D):
    block_d = max(16, triton.next_power_of_2(D))
    if block_d > MAX_BLOCK_D:
        raise ValueError(f'triton logsumexp supports feature dims up to {MAX_BLOCK_D}, got {D}')
    return block_d


def same_operands(q, k, q_labels, k_labels):
    """Whether a call contrasts ``q`` with itself under one labelling: the fused self path."""
    return q is k and q_labels is k_labels


class _LogSumExp(torch.autograd.Function):
    """Autograd wrapper: saves (q, k, k_mask, labels, lse) and recomputes P in backward."""

    @staticmethod
    def forward(ctx, q, k, temperature, exclude_self, k_mask, q_labels, k_labels):
        self_contrast = same_operands(q, k, q_labels, k_labels)
        dtype = torch.promote_types(q.dtype, k.dtype)
        q_c = q.to(dtype).contiguous()
        k_c = q_c if self_contrast else k.to(dtype).contiguous()
        N, D = q_c.shape
        M = k_c.shape[0]
        km = None
        if k_mask is not None:
            km = k_mask.reshape(-1).to(device=q.device, dtype=torch.bool).contiguous().view(torch.uint8)
        ql = kl = None
        if q_labels is not None:
            ql, kl = q_labels.contiguous(), k_labels.contiguous()
        lse = torch.empty(N, device=q.device, dtype=torch.float32)
        if N > 0:
            if M == 0:
                lse.fill_(float('-inf'))
            else:
                grid = lambda meta: (triton.cdiv(N, meta['BLOCK_M']),)  # noqa: E731
                _lse_fwd_kernel[grid](
                    q_c, k_c, _or(km, q_c), _or(ql, q_c), _or(kl, q_c), lse, N, M, D,
                    _LOG2E / float(temperature),
                    HAS_MASK=km is not None, EXCLUDE_SELF=bool(exclude_self),
                    HAS_LABELS=ql is not None,
                    BLOCK_D=_block_d(D), DOT_PREC=dot_precision(dtype))
        ctx.save_for_backward(q_c, k_c, km, ql, kl, lse)
        ctx.temperature = float(temperature)
        ctx.exclude_self = bool(exclude_self)
        ctx.self_contrast = self_contrast
        ctx.dtypes = (q.dtype, k.dtype)
        return lse

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_lse):
        q, k, km, ql, kl, lse = ctx.saved_tensors
        N, D = q.shape
        M = k.shape[0]
        need_q, need_k = ctx.needs_input_grad[:2]
        g = grad_lse.to(torch.float32).contiguous()
        args = dict(HAS_MASK=km is not None, EXCLUDE_SELF=ctx.exclude_self,
                    HAS_LABELS=ql is not None,
                    BLOCK_D=_block_d(D), DOT_PREC=dot_precision(q.dtype))
        masks = (_or(km, q), _or(ql, q), _or(kl, q))
        scale, grad_scale = _LOG2E / ctx.temperature, 1.0 / ctx.temperature
        dq = dk = None
        if ctx.self_contrast:
            if need_q:
                dq = torch.zeros(N, D, device=q.device, dtype=torch.float32)
                if N > 0:
                    _lse_bwd_dq_kernel[lambda meta: (triton.cdiv(N, meta['BLOCK_M']),)](
                        q, q, *masks, lse, g, dq, N, N, D, scale, grad_scale,
                        SELF=True, **args)
                dq = dq.to(ctx.dtypes[0])
            # The whole gradient went to the first input; autograd adds nothing for k.
            return dq, None, None, None, None, None, None
        if need_q:
            dq = torch.zeros(N, D, device=q.device, dtype=torch.float32)
            if N > 0 and M > 0:
                _lse_bwd_dq_kernel[lambda meta: (triton.cdiv(N, meta['BLOCK_M']),)](
                    q, k, *masks, lse, g, dq, N, M, D, scale, grad_scale,
                    SELF=False, **args)
            dq = dq.to(ctx.dtypes[0])
        if need_k:
            dk = torch.zeros(M, D, device=k.device, dtype=torch.float32)
            if N > 0 and M > 0:
                _lse_bwd_dk_kernel[lambda meta: (triton.cdiv(M, meta['BLOCK_N']),)](
                    q, k, *masks, lse, g, dk, N, M, D, scale, grad_scale, **args)
            dk = dk.to(ctx.dtypes[1])
        return dq, dk, None, None, None, None, None


def _or(tensor, placeholder):
    """``tensor``, or a placeholder pointer for a kernel argument its constexpr switches off."""
    return placeholder if tensor is None else tensor


def logsumexp(q, k, temperature, exclude_self=False, k_mask=None, q_labels=None, k_labels=None):
    """Masked ``log sum_j exp(q_i . k_j / temperature)`` per row of ``q``, as (N,) float32.

    ``k_mask`` (M,) bool selects usable columns; ``exclude_self`` drops j == i;
    with integer labels ((N,) and (M,)) columns with ``k_labels[j] ==
    q_labels[i]`` are dropped too (negatives only). Rows with no usable column
    give -inf and a zero gradient. Keys outside ``k_mask`` take no part whatever
    they hold (NaN, inf) and get a zero gradient, as do rows whose upstream
    gradient is 0. Passing the same tensor as ``q`` and ``k``
    (and as both labels) returns the summed gradient through ``q``.
    """
    return _LogSumExp.apply(q, k, temperature, exclude_self, k_mask, q_labels, k_labels)
