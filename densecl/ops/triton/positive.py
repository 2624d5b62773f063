"""Fused positive-pair softplus sum, ``out_i = sum_{j in P(i)} softplus(offset_i - q_i.k_j / T)``.

P(i) are the columns whose label equals row i's (without j == i under
``exclude_self``). With ``offset_i`` the log-sum-exp over row i's negatives,
each term is ContrastiveSeg's ``-log(e^s_ij / (e^s_ij + sum_n e^s_in))``
(Wang et al. 2021). The structure follows ``logsumexp.py``: the forward
streams column tiles past a row tile, and the backward recomputes the
similarities; ``dq`` (with ``doffset``) comes from a row-parallel kernel and
``dk`` from a column-parallel one, so nothing needs atomics. When ``q is k``
under one labelling, the row-parallel kernel also adds the column term.

``d softplus(x) / dx = sigmoid(x)``; both are written with exp/log of
``-|x|`` so that they stay finite for any x and are exactly 0 at x = -inf
(an anchor without negatives).
"""
import torch
import triton
import triton.language as tl

from .logsumexp import (_block_d, autotune_configs, dot_precision, load_labels, load_rows,
                        same_operands)

_POS_CONFIGS = autotune_configs(
    gpu=[(128, 64, 4, 3), (128, 128, 8, 2), (64, 64, 4, 3), (64, 128, 4, 2)],
    interpret=(32, 32, 1, 1))
_POS_KEY = ['BLOCK_D', 'EXCLUDE_SELF']


@triton.jit
def _softplus(x):
    """log(1 + e^x) = max(x, 0) + log1p(e^-|x|), log1p through Goldberg's correction."""
    e = tl.exp(-tl.abs(x))
    u = 1.0 + e
    d = u - 1.0
    log1p = tl.where(d == 0.0, e, tl.log(u) * (e / tl.where(d == 0.0, 1.0, d)))
    return tl.maximum(x, 0.0) + log1p


@triton.jit
def _sigmoid(x):
    """1 / (1 + e^-x) without overflow: e^x / (1 + e^x) for negative x."""
    e = tl.exp(-tl.abs(x))
    r = 1.0 / (1.0 + e)
    return tl.where(x >= 0.0, r, e * r)


@triton.jit
def _positive_pairs(lab_a, lab_b, offs_a, offs_b, n_a, n_b, EXCLUDE_SELF: tl.constexpr):
    """(a, b) tile of in-range pairs with equal labels (and a != b under EXCLUDE_SELF)."""
    pos = ((lab_a[:, None] == lab_b[None, :]) & (offs_a[:, None] < n_a)
           & (offs_b[None, :] < n_b))
    if EXCLUDE_SELF:
        pos = pos & (offs_a[:, None] != offs_b[None, :])
    return pos


@triton.jit
def _row_offsets_and_grads(OFFSET, G, offs, n):
    """Per-row offset (-inf past the end) and upstream gradient (0 past the end)."""
    ok = offs < n
    return (tl.load(OFFSET + offs, mask=ok, other=float('-inf')),
            tl.load(G + offs, mask=ok, other=0.0))


@triton.autotune(configs=_POS_CONFIGS, key=_POS_KEY)
@triton.jit
def _pos_fwd_kernel(Q, K, OFFSET, QLAB, KLAB, OUT, N, M, D, scale,
                    EXCLUDE_SELF: tl.constexpr, BLOCK_D: tl.constexpr, DOT_PREC: tl.constexpr,
                    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """One program per BLOCK_M rows: the softplus sum over all column tiles of k."""
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    q = load_rows(Q, offs_m, N, offs_d, D)
    offset = tl.load(OFFSET + offs_m, mask=offs_m < N, other=float('-inf'))
    lab_m = load_labels(QLAB, offs_m, N)
    acc = tl.zeros([BLOCK_M], tl.float32)
    for start_n in range(0, M, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        k = load_rows(K, offs_n, M, offs_d, D)
        s = tl.dot(q, tl.trans(k), input_precision=DOT_PREC) * scale
        pos = _positive_pairs(lab_m, load_labels(KLAB, offs_n, M), offs_m, offs_n, N, M,
                              EXCLUDE_SELF)
        acc += tl.sum(tl.where(pos, _softplus(offset[:, None] - s), 0.0), 1)
    tl.store(OUT + offs_m, acc, mask=offs_m < N)


@triton.autotune(configs=_POS_CONFIGS, key=_POS_KEY + ['SELF'])
@triton.jit
def _pos_bwd_dq_kernel(Q, K, OFFSET, QLAB, KLAB, G, DQ, DOFFSET, N, M, D, scale,
                       EXCLUDE_SELF: tl.constexpr, SELF: tl.constexpr,
                       BLOCK_D: tl.constexpr, DOT_PREC: tl.constexpr,
                       BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Row-parallel: w_ij = g_i sigmoid(offset_i - s_ij) on positive pairs,
    doffset_i = sum_j w_ij and dq_i = -sum_j w_ij k_j / T.

    With SELF (q is k, one labelling) dq_i also gets the column term
    -sum_j w_ji q_j / T, with s_ji = s_ij and the symmetric pair test.
    """
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    q = load_rows(Q, offs_m, N, offs_d, D)
    offset_m, g_m = _row_offsets_and_grads(OFFSET, G, offs_m, N)
    lab_m = load_labels(QLAB, offs_m, N)
    acc = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    acc_offset = tl.zeros([BLOCK_M], tl.float32)
    for start_n in range(0, M, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        k = load_rows(K, offs_n, M, offs_d, D)
        s = tl.dot(q, tl.trans(k), input_precision=DOT_PREC) * scale
        pos = _positive_pairs(lab_m, load_labels(KLAB, offs_n, M), offs_m, offs_n, N, M,
                              EXCLUDE_SELF)
        w = tl.where(pos, _sigmoid(offset_m[:, None] - s) * g_m[:, None], 0.0)
        acc_offset += tl.sum(w, 1)
        if SELF:
            offset_n, g_n = _row_offsets_and_grads(OFFSET, G, offs_n, M)
            w += tl.where(pos, _sigmoid(offset_n[None, :] - s) * g_n[None, :], 0.0)
        acc += tl.dot(w.to(k.dtype), k, input_precision=DOT_PREC)
    m_ok = offs_m < N
    tl.store(DQ + offs_m[:, None] * D + offs_d[None, :], -scale * acc,
             mask=m_ok[:, None] & (offs_d[None, :] < D))
    tl.store(DOFFSET + offs_m, acc_offset, mask=m_ok)


@triton.autotune(configs=_POS_CONFIGS, key=_POS_KEY)
@triton.jit
def _pos_bwd_dk_kernel(Q, K, OFFSET, QLAB, KLAB, G, DK, N, M, D, scale,
                       EXCLUDE_SELF: tl.constexpr, BLOCK_D: tl.constexpr,
                       DOT_PREC: tl.constexpr,
                       BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Column-parallel: dk_j = -sum_i g_i sigmoid(offset_i - s_ij) q_i / T on positive pairs.

    As in logsumexp's dk kernel the tile is built transposed, (cols, rows).
    """
    offs_n = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    k = load_rows(K, offs_n, M, offs_d, D)
    lab_n = load_labels(KLAB, offs_n, M)
    acc = tl.zeros([BLOCK_N, BLOCK_D], tl.float32)
    for start_m in range(0, N, BLOCK_M):
        offs_m = start_m + tl.arange(0, BLOCK_M)
        q = load_rows(Q, offs_m, N, offs_d, D)
        offset_m, g_m = _row_offsets_and_grads(OFFSET, G, offs_m, N)
        s_t = tl.dot(k, tl.trans(q), input_precision=DOT_PREC) * scale
        pos_t = _positive_pairs(lab_n, load_labels(QLAB, offs_m, N), offs_n, offs_m, M, N,
                                EXCLUDE_SELF)
        w_t = tl.where(pos_t, _sigmoid(offset_m[None, :] - s_t) * g_m[None, :], 0.0)
        acc += tl.dot(w_t.to(q.dtype), q, input_precision=DOT_PREC)
    tl.store(DK + offs_n[:, None] * D + offs_d[None, :], -scale * acc,
             mask=(offs_n[:, None] < M) & (offs_d[None, :] < D))


class _PositiveSoftplus(torch.autograd.Function):
    """Autograd wrapper: saves (q, k, offset, labels) and recomputes the tiles in backward."""

    @staticmethod
    def forward(ctx, q, k, offset, temperature, exclude_self, q_labels, k_labels):
        self_contrast = same_operands(q, k, q_labels, k_labels)
        dtype = torch.promote_types(q.dtype, k.dtype)
        q_c = q.to(dtype).contiguous()
        k_c = q_c if self_contrast else k.to(dtype).contiguous()
        ql = q_labels.contiguous()
        kl = ql if self_contrast else k_labels.contiguous()
        offset_c = offset.to(torch.float32).contiguous()
        N, D = q_c.shape
        M = k_c.shape[0]
        out = torch.zeros(N, device=q.device, dtype=torch.float32)
        if N > 0 and M > 0:
            _pos_fwd_kernel[lambda meta: (triton.cdiv(N, meta['BLOCK_M']),)](
                q_c, k_c, offset_c, ql, kl, out, N, M, D, 1.0 / float(temperature),
                EXCLUDE_SELF=bool(exclude_self), BLOCK_D=_block_d(D),
                DOT_PREC=dot_precision(dtype))
        ctx.save_for_backward(q_c, k_c, offset_c, ql, kl)
        ctx.temperature = float(temperature)
        ctx.exclude_self = bool(exclude_self)
        ctx.self_contrast = self_contrast
        ctx.dtypes = (q.dtype, k.dtype, offset.dtype)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        q, k, offset, ql, kl = ctx.saved_tensors
        N, D = q.shape
        M = k.shape[0]
        need_q, need_k, need_offset = ctx.needs_input_grad[:3]
        g = grad_out.to(torch.float32).contiguous()
        args = dict(EXCLUDE_SELF=ctx.exclude_self, BLOCK_D=_block_d(D),
                    DOT_PREC=dot_precision(q.dtype))
        scale = 1.0 / ctx.temperature
        dq = torch.zeros(N, D, device=q.device, dtype=torch.float32)
        doffset = torch.zeros(N, device=q.device, dtype=torch.float32)
        dk = None
        if N > 0 and M > 0 and (need_q or need_offset):
            _pos_bwd_dq_kernel[lambda meta: (triton.cdiv(N, meta['BLOCK_M']),)](
                q, k, offset, ql, kl, g, dq, doffset, N, M, D, scale,
                SELF=ctx.self_contrast, **args)
        if need_k and not ctx.self_contrast:
            dk = torch.zeros(M, D, device=k.device, dtype=torch.float32)
            if N > 0 and M > 0:
                _pos_bwd_dk_kernel[lambda meta: (triton.cdiv(M, meta['BLOCK_N']),)](
                    q, k, offset, ql, kl, g, dk, N, M, D, scale, **args)
            dk = dk.to(ctx.dtypes[1])
        # With self_contrast the whole gradient of q and k went into dq.
        return (dq.to(ctx.dtypes[0]) if need_q else None, dk,
                doffset.to(ctx.dtypes[2]) if need_offset else None, None, None, None, None)


def positive_softplus(q, k, offset, temperature, exclude_self, q_labels, k_labels):
    """``out_i = sum_j softplus(offset_i - q_i . k_j / temperature)`` over same-label columns.

    ``q_labels`` (N,) and ``k_labels`` (M,) are integer labels; column j is a
    positive of row i when ``k_labels[j] == q_labels[i]`` (and j != i with
    ``exclude_self``). Returns (N,) float32, differentiable in ``q``, ``k``
    and ``offset``; an offset of -inf gives 0 with a zero gradient. Passing
    the same tensor as ``q`` and ``k`` and as both labels returns the summed
    gradient through ``q``.
    """
    return _PositiveSoftplus.apply(q, k, offset, temperature, exclude_self, q_labels, k_labels)
