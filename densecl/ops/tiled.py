"""Tiled PyTorch implementation of the primitives (the CPU path).

Every primitive is a sum over an (N, M) similarity matrix that is never
materialised: rows and columns are visited in tiles of ``ROW_TILE`` x
``COL_TILE``, so the extra memory is one tile plus O(N) row statistics.

``logsumexp`` keeps a running (max, sum) pair per row, FlashAttention style
(Dao et al. 2022), which stays finite for large-norm, unnormalised inputs.
Only the inputs and the per-row result are saved; the backward recomputes each
tile's probabilities ``exp(s - lse)`` and accumulates ``dq`` and ``dk``.
``propagation`` and ``positive_softplus`` accumulate the output tile by tile
and their backwards recompute the tiles. Arithmetic is fp32, or fp64 for fp64
inputs (so that ``torch.autograd.gradcheck`` applies).

The tile sizes are read at call time; tests lower them to exercise many tiles
and ragged edges.
"""
import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from .precision import accumulation_dtype

ROW_TILE = 1024
COL_TILE = 2048


def _tiles(n, size):
    """``(start, stop)`` pairs covering ``range(n)`` in steps of ``size``."""
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def _tile_logits(q_tile, k_tile, scale, bias, row0, col0, exclude_self, drop=None):
    """``q . k * scale`` for one tile, with disallowed columns at -inf.

    ``bias`` is the tile's slice of the column bias (0 or -inf from ``k_mask``);
    with ``exclude_self`` the entries where global row == global column are
    disallowed, i.e. the tile's diagonal at offset ``row0 - col0``; ``drop``
    is an optional (rows, cols) bool tile of further disallowed entries.
    """
    s = (q_tile @ k_tile.t()).mul_(scale)
    if bias is not None:
        s.add_(bias)
    if exclude_self:
        s.diagonal(row0 - col0).fill_(float('-inf'))
    if drop is not None:
        s.masked_fill_(drop, float('-inf'))
    return s


def _same_label(q_labels, k_labels, rows, cols):
    """(rows, cols) bool tile, True where row and column labels are equal; None without labels."""
    if q_labels is None:
        return None
    return q_labels[rows, None] == k_labels[None, cols]


def _rows(x, keep, start, stop, dtype):
    """Rows ``start:stop`` of ``x`` in ``dtype``, those where ``keep`` is False set to 0.

    A left-out row must add nothing whatever it holds: a NaN or inf in it
    would survive its -inf bias or zero weight (NaN - inf and inf * 0 are NaN).
    """
    tile = x[start:stop].to(dtype)
    return tile if keep is None else tile.masked_fill(~keep[start:stop, None], 0)


def _column_bias(k_mask, dtype):
    """(M,) 0 where ``k_mask`` is True and -inf elsewhere; None without a mask."""
    if k_mask is None:
        return None
    return torch.zeros(k_mask.shape, dtype=dtype, device=k_mask.device).masked_fill_(
        ~k_mask, float('-inf'))


class _LogSumExp(torch.autograd.Function):
    """Online-softmax forward; backward recomputes probabilities from the saved LSE."""

    @staticmethod
    def forward(ctx, q, k, temperature, exclude_self, k_mask, q_labels, k_labels):
        dtype = accumulation_dtype(q, k)
        scale = 1.0 / temperature
        bias = _column_bias(k_mask, dtype)
        lse = torch.empty(q.shape[0], dtype=dtype, device=q.device)
        for r0, r1 in _tiles(q.shape[0], ROW_TILE):
            q_tile = q[r0:r1].to(dtype)
            run_max = torch.full((r1 - r0,), float('-inf'), dtype=dtype, device=q.device)
            run_sum = torch.zeros_like(run_max)
            for c0, c1 in _tiles(k.shape[0], COL_TILE):
                s = _tile_logits(q_tile, _rows(k, k_mask, c0, c1, dtype), scale,
                                 None if bias is None else bias[c0:c1], r0, c0, exclude_self,
                                 _same_label(q_labels, k_labels, slice(r0, r1), slice(c0, c1)))
                new_max = torch.maximum(run_max, s.amax(1))
                # A row that has only seen disallowed columns keeps max = -inf;
                # shifting it by 0 avoids (-inf) - (-inf).
                shift = new_max.masked_fill(new_max == float('-inf'), 0.)
                run_sum = run_sum * (run_max - shift).exp() + \
                    s.sub_(shift[:, None]).exp_().sum(1)
                run_max = new_max
            # Empty rows: -inf + log(0) = -inf.
            lse[r0:r1] = run_max + run_sum.log()
        ctx.save_for_backward(q, k, k_mask, q_labels, k_labels, lse)
        ctx.temperature = temperature
        ctx.exclude_self = exclude_self
        return lse

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_lse):
        q, k, k_mask, q_labels, k_labels, lse = ctx.saved_tensors
        need_q, need_k = ctx.needs_input_grad[:2]
        dtype = lse.dtype
        scale = 1.0 / ctx.temperature
        bias = _column_bias(k_mask, dtype)
        # Rows that are empty or get no upstream gradient add nothing: zeroed
        # (so a NaN query, e.g. a masked key in self-contrast, stays out of dk)
        # and with lse = inf, so exp(s - inf) = 0 in every column.
        active = (lse != float('-inf')) & (grad_lse != 0)
        lse = lse.masked_fill(~active, float('inf'))
        # d lse_i / d s_ij = P_ij and d s_ij / d q_i = k_j / T: fold g_i / T per row.
        row_grad = (grad_lse.to(dtype) * scale).masked_fill_(~active, 0.)
        dq = torch.zeros(q.shape, dtype=dtype, device=q.device) if need_q else None
        dk = torch.zeros(k.shape, dtype=dtype, device=k.device) if need_k else None
        for r0, r1 in _tiles(q.shape[0], ROW_TILE):
            q_tile = _rows(q, active, r0, r1, dtype)
            for c0, c1 in _tiles(k.shape[0], COL_TILE):
                k_tile = _rows(k, k_mask, c0, c1, dtype)
                s = _tile_logits(q_tile, k_tile, scale,
                                 None if bias is None else bias[c0:c1], r0, c0,
                                 ctx.exclude_self,
                                 _same_label(q_labels, k_labels, slice(r0, r1), slice(c0, c1)))
                ds = s.sub_(lse[r0:r1, None]).exp_().mul_(row_grad[r0:r1, None])
                if need_q:
                    dq[r0:r1].addmm_(ds, k_tile)
                if need_k:
                    dk[c0:c1].addmm_(ds.t(), q_tile)
        return (None if dq is None else dq.to(q.dtype),
                None if dk is None else dk.to(k.dtype), None, None, None, None, None)


def _positive_margins(q_tile, k_tile, offset, q_labels, k_labels, scale, rows, cols,
                      exclude_self):
    """``offset_i - q_i . k_j * scale`` on the tile ``rows`` x ``cols``, -inf off the positives.

    softplus and sigmoid are exactly 0 at -inf, so the pairs that are not
    positives add nothing to the value or the gradient; an offset of -inf (no
    negatives) likewise.
    """
    not_positive = ~_same_label(q_labels, k_labels, rows, cols)
    return _tile_logits(q_tile, k_tile, -scale, None, rows.start, cols.start, exclude_self,
                        not_positive).add_(offset[rows, None])


class _PositiveSoftplus(torch.autograd.Function):
    """Tiled sum of softplus over positive pairs; backward recomputes each tile."""

    @staticmethod
    def forward(ctx, q, k, offset, temperature, exclude_self, q_labels, k_labels):
        dtype = accumulation_dtype(q, k)
        scale = 1.0 / temperature
        offset_acc = offset.to(dtype)
        out = torch.zeros(q.shape[0], dtype=dtype, device=q.device)
        for r0, r1 in _tiles(q.shape[0], ROW_TILE):
            q_tile = q[r0:r1].to(dtype)
            for c0, c1 in _tiles(k.shape[0], COL_TILE):
                x = _positive_margins(q_tile, k[c0:c1].to(dtype), offset_acc, q_labels,
                                      k_labels, scale, slice(r0, r1), slice(c0, c1),
                                      exclude_self)
                out[r0:r1] += F.softplus(x).sum(1)
        ctx.save_for_backward(q, k, offset, q_labels, k_labels)
        ctx.temperature = temperature
        ctx.exclude_self = exclude_self
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        q, k, offset, q_labels, k_labels = ctx.saved_tensors
        need_q, need_k, need_offset = ctx.needs_input_grad[:3]
        dtype = accumulation_dtype(q, k)
        scale = 1.0 / ctx.temperature
        offset_acc, grad_acc = offset.to(dtype), grad_out.to(dtype)
        dq = torch.zeros(q.shape, dtype=dtype, device=q.device) if need_q else None
        dk = torch.zeros(k.shape, dtype=dtype, device=k.device) if need_k else None
        doffset = torch.zeros_like(offset_acc) if need_offset else None
        for r0, r1 in _tiles(q.shape[0], ROW_TILE):
            q_tile = q[r0:r1].to(dtype)
            for c0, c1 in _tiles(k.shape[0], COL_TILE):
                k_tile = k[c0:c1].to(dtype)
                x = _positive_margins(q_tile, k_tile, offset_acc, q_labels, k_labels, scale,
                                      slice(r0, r1), slice(c0, c1), ctx.exclude_self)
                # d softplus(x_ij) = sigmoid(x_ij) dx_ij with dx_ij = doffset_i - ds_ij.
                weight = x.sigmoid_().mul_(grad_acc[r0:r1, None])
                if need_offset:
                    doffset[r0:r1] += weight.sum(1)
                if need_q:
                    dq[r0:r1].addmm_(weight, k_tile, alpha=-scale)
                if need_k:
                    dk[c0:c1].addmm_(weight.t(), q_tile, alpha=-scale)
        return (None if dq is None else dq.to(q.dtype),
                None if dk is None else dk.to(k.dtype),
                None if doffset is None else doffset.to(offset.dtype),
                None, None, None, None)


class _Propagation(torch.autograd.Function):
    """Tiled ``relu(x x^T)^gamma @ value``; backward recomputes the weights per tile."""

    @staticmethod
    def forward(ctx, x, value, gamma):
        dtype = accumulation_dtype(x, value)
        batch, length = x.shape[:2]
        y = torch.zeros(batch, length, value.shape[2], dtype=dtype, device=x.device)
        for b in range(batch):
            for r0, r1 in _tiles(length, ROW_TILE):
                x_rows = x[b, r0:r1].to(dtype)
                for c0, c1 in _tiles(length, COL_TILE):
                    weights = (x_rows @ x[b, c0:c1].to(dtype).t()).clamp_min_(0).pow_(gamma)
                    y[b, r0:r1].addmm_(weights, value[b, c0:c1].to(dtype))
        ctx.save_for_backward(x, value)
        ctx.gamma = gamma
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        x, value = ctx.saved_tensors
        need_x, need_value = ctx.needs_input_grad[:2]
        gamma = ctx.gamma
        dtype = accumulation_dtype(x, value)
        batch, length = x.shape[:2]
        dx = torch.zeros(x.shape, dtype=dtype, device=x.device) if need_x else None
        dv = torch.zeros(value.shape, dtype=dtype, device=x.device) if need_value else None
        for b in range(batch):
            for r0, r1 in _tiles(length, ROW_TILE):
                x_rows = x[b, r0:r1].to(dtype)
                dy_rows = grad_y[b, r0:r1].to(dtype)
                for c0, c1 in _tiles(length, COL_TILE):
                    x_cols = x[b, c0:c1].to(dtype)
                    s = x_rows @ x_cols.t()
                    positive = s.clamp_min(0)
                    if need_value:
                        dv[b, c0:c1].addmm_(positive.pow(gamma).t(), dy_rows)
                    if need_x:
                        # d max(s, 0)^gamma / ds = gamma s^(gamma - 1) for s > 0, else 0
                        # (the where also discards 0^(gamma - 1) = inf for gamma < 1).
                        dweight = torch.where(s > 0, gamma * positive.pow_(gamma - 1), 0.)
                        ds = (dy_rows @ value[b, c0:c1].to(dtype).t()).mul_(dweight)
                        # s_ij = x_i . x_j depends on both the row and the column pixel.
                        dx[b, r0:r1].addmm_(ds, x_cols)
                        dx[b, c0:c1].addmm_(ds.t(), x_rows)
        return (None if dx is None else dx.to(x.dtype),
                None if dv is None else dv.to(value.dtype), None)


def logsumexp(q, k, temperature, exclude_self, k_mask, q_labels=None, k_labels=None):
    """``out_i = log sum_j exp(q_i . k_j / temperature)`` over the allowed columns, tiled.

    Columns are allowed where ``k_mask`` (M,) is True, with ``exclude_self``
    where j != i, and with labels ((N,) and (M,) integers) where
    ``k_labels[j] != q_labels[i]``, i.e. over the negatives only. Returns (N,)
    fp32 (fp64 for fp64 inputs); rows with no allowed column give -inf and a
    zero gradient. Keys outside ``k_mask`` take no part whatever they hold
    (NaN, inf) and get a zero gradient, as do rows whose upstream gradient is
    0. Passing ``q`` as ``k`` adds both gradients up in ``q``.
    """
    return _LogSumExp.apply(q, k, temperature, exclude_self, k_mask, q_labels, k_labels)


def positive_softplus(q, k, offset, temperature, exclude_self, q_labels, k_labels):
    """``out_i = sum_j softplus(offset_i - q_i . k_j / temperature)`` over the positives, tiled.

    The positives of row i are the columns with ``k_labels[j] == q_labels[i]``
    (and j != i with ``exclude_self``). With ``offset`` the log-sum-exp over
    the negatives, each term is ContrastiveSeg's
    ``-log(e^s_ij / (e^s_ij + sum_n e^s_in))``. Returns (N,) fp32 (fp64 for
    fp64 inputs), differentiable in ``q``, ``k`` and ``offset``; an offset of
    -inf gives 0 with a zero gradient.
    """
    return _PositiveSoftplus.apply(q, k, offset, temperature, exclude_self, q_labels, k_labels)


def propagation(x, value, gamma):
    """PixPro pixel propagation ``y_i = sum_j max(x_i . x_j, 0)^gamma value_j``, tiled.

    ``x`` (B, L, D) must already be L2-normalised; ``value`` is (B, L, E).
    No normalisation by the weight sum (Xie et al. 2021).
    """
    return _Propagation.apply(x, value, gamma)
