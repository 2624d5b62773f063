"""Fused PixPro pixel propagation, ``y_i = sum_j max(x_i.x_j, 0)^gamma v_j`` (Xie et al. 2021).

Per image the (L, L) similarity matrix is recomputed tile by tile instead of
being stored. The forward program owns a row tile of ``x`` and streams column
tiles of ``x`` and ``value``.

The weights are symmetric (``w_ij = w_ji``), which lets one row-parallel
backward kernel produce both gradients without atomics:

* ``dv_k = sum_i w_ik dy_i = sum_j w_kj dy_j``
* ``dx_k = sum_j (dw_kj + dw_jk) f'(s_kj) x_j`` with ``dw_ij = dy_i . v_j``,
  i.e. the row term and the symmetric column term (x is on both sides of s).
"""
import torch
import triton
import triton.language as tl

from .logsumexp import MAX_BLOCK_D, autotune_configs, dot_precision, load_rows

_PROP_CONFIGS = autotune_configs(
    gpu=[(64, 64, 4, 2), (64, 64, 4, 3), (64, 128, 8, 2), (128, 64, 8, 2),
         (32, 64, 4, 2)],
    interpret=(32, 32, 1, 1))
_PROP_KEY = ['BLOCK_D', 'BLOCK_E', 'GAMMA_KIND']


@triton.jit
def _weight(s, gamma, GAMMA_KIND: tl.constexpr):
    """max(s, 0)^gamma; general gamma through exp2(gamma * log2 s) on s > 0 only."""
    pos = s > 0.0
    if GAMMA_KIND == 1:
        w = tl.where(pos, s, 0.0)
    elif GAMMA_KIND == 2:
        w = tl.where(pos, s * s, 0.0)
    else:
        w = tl.where(pos, tl.exp2(gamma * tl.log2(tl.where(pos, s, 1.0))), 0.0)
    return w


@triton.jit
def _weight_grad(s, gamma, GAMMA_KIND: tl.constexpr):
    """d/ds max(s, 0)^gamma = gamma * s^(gamma - 1) for s > 0, else 0."""
    pos = s > 0.0
    if GAMMA_KIND == 1:
        d = tl.where(pos, 1.0, 0.0)
    elif GAMMA_KIND == 2:
        d = tl.where(pos, 2.0 * s, 0.0)
    else:
        d = tl.where(pos, gamma * tl.exp2((gamma - 1.0) * tl.log2(tl.where(pos, s, 1.0))), 0.0)
    return d


@triton.autotune(configs=_PROP_CONFIGS, key=_PROP_KEY)
@triton.jit
def _prop_fwd_kernel(X, V, Y, L, D, E, gamma,
                     GAMMA_KIND: tl.constexpr, BLOCK_D: tl.constexpr,
                     BLOCK_E: tl.constexpr, DOT_PREC: tl.constexpr,
                     BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program (row block, batch): y_i = sum_j w_ij v_j over all column tiles."""
    pid_b = tl.program_id(1).to(tl.int64)
    X += pid_b * L * D
    V += pid_b * L * E
    Y += pid_b * L * E
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    offs_e = tl.arange(0, BLOCK_E)
    d_ok = offs_d < D
    e_ok = offs_e < E
    x_i = load_rows(X, offs_m, L, offs_d, D)
    acc = tl.zeros([BLOCK_M, BLOCK_E], tl.float32)
    for start_n in range(0, L, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        n_ok = offs_n[:, None] < L
        # Out-of-range rows load as zeros, so s = 0 and w = 0 there.
        x_j = tl.load(X + offs_n[:, None] * D + offs_d[None, :],
                      mask=n_ok & d_ok[None, :], other=0.0)
        v_j = tl.load(V + offs_n[:, None] * E + offs_e[None, :],
                      mask=n_ok & e_ok[None, :], other=0.0)
        s = tl.dot(x_i, tl.trans(x_j), input_precision=DOT_PREC)
        w = _weight(s, gamma, GAMMA_KIND)
        acc += tl.dot(w.to(v_j.dtype), v_j, input_precision=DOT_PREC)
    tl.store(Y + offs_m[:, None] * E + offs_e[None, :], acc,
             mask=(offs_m[:, None] < L) & e_ok[None, :])


@triton.autotune(configs=_PROP_CONFIGS, key=_PROP_KEY)
@triton.jit
def _prop_bwd_kernel(X, V, DY, DX, DV, L, D, E, gamma,
                     GAMMA_KIND: tl.constexpr, BLOCK_D: tl.constexpr,
                     BLOCK_E: tl.constexpr, DOT_PREC: tl.constexpr,
                     BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program (row block k, batch): dx_k (row + symmetric column term) and dv_k."""
    pid_b = tl.program_id(1).to(tl.int64)
    X += pid_b * L * D
    DX += pid_b * L * D
    V += pid_b * L * E
    DY += pid_b * L * E
    DV += pid_b * L * E
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    offs_e = tl.arange(0, BLOCK_E)
    d_ok = offs_d < D
    e_ok = offs_e < E
    m_ok = offs_m[:, None] < L
    x_k = tl.load(X + offs_m[:, None] * D + offs_d[None, :], mask=m_ok & d_ok[None, :], other=0.0)
    v_k = tl.load(V + offs_m[:, None] * E + offs_e[None, :], mask=m_ok & e_ok[None, :], other=0.0)
    dy_k = tl.load(DY + offs_m[:, None] * E + offs_e[None, :], mask=m_ok & e_ok[None, :], other=0.0)
    acc_dx = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    acc_dv = tl.zeros([BLOCK_M, BLOCK_E], tl.float32)
    for start_n in range(0, L, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        n_ok = offs_n[:, None] < L
        x_j = tl.load(X + offs_n[:, None] * D + offs_d[None, :], mask=n_ok & d_ok[None, :], other=0.0)
        v_j = tl.load(V + offs_n[:, None] * E + offs_e[None, :], mask=n_ok & e_ok[None, :], other=0.0)
        dy_j = tl.load(DY + offs_n[:, None] * E + offs_e[None, :], mask=n_ok & e_ok[None, :], other=0.0)
        s = tl.dot(x_k, tl.trans(x_j), input_precision=DOT_PREC)
        w = _weight(s, gamma, GAMMA_KIND)
        acc_dv += tl.dot(w.to(dy_j.dtype), dy_j, input_precision=DOT_PREC)
        # dw_kj + dw_jk = dy_k . v_j + v_k . dy_j
        dw = tl.dot(dy_k, tl.trans(v_j), input_precision=DOT_PREC)
        dw += tl.dot(v_k, tl.trans(dy_j), input_precision=DOT_PREC)
        ds = dw * _weight_grad(s, gamma, GAMMA_KIND)
        acc_dx += tl.dot(ds.to(x_j.dtype), x_j, input_precision=DOT_PREC)
    tl.store(DX + offs_m[:, None] * D + offs_d[None, :], acc_dx, mask=m_ok & d_ok[None, :])
    tl.store(DV + offs_m[:, None] * E + offs_e[None, :], acc_dv, mask=m_ok & e_ok[None, :])


def _block(n, what):
    block = max(16, triton.next_power_of_2(n))
    if block > MAX_BLOCK_D:
        raise ValueError(f'triton propagation supports {what} up to {MAX_BLOCK_D}, got {n}')
    return block


def _gamma_kind(gamma):
    """1 and 2 get exact specialised code; any other gamma uses exp2/log2."""
    return {1.0: 1, 2.0: 2}.get(float(gamma), 0)


class _Propagation(torch.autograd.Function):
    """Autograd wrapper: saves (x, value) and recomputes the weights in backward."""

    @staticmethod
    def forward(ctx, x, value, gamma):
        dtype = torch.promote_types(x.dtype, value.dtype)
        x_c = x.to(dtype).contiguous()
        v_c = value.to(dtype).contiguous()
        B, L, D = x_c.shape
        E = v_c.shape[2]
        meta = dict(GAMMA_KIND=_gamma_kind(gamma), BLOCK_D=_block(D, 'feature dims'),
                    BLOCK_E=_block(E, 'value dims'), DOT_PREC=dot_precision(dtype))
        y = torch.empty(B, L, E, device=x.device, dtype=torch.float32)
        if B > 0 and L > 0:
            _prop_fwd_kernel[lambda m: (triton.cdiv(L, m['BLOCK_M']), B)](
                x_c, v_c, y, L, D, E, float(gamma), **meta)
        ctx.save_for_backward(x_c, v_c)
        ctx.gamma = float(gamma)
        ctx.meta = meta
        ctx.dtypes = (x.dtype, value.dtype)
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_y):
        x, v = ctx.saved_tensors
        B, L, D = x.shape
        E = v.shape[2]
        dy = grad_y.to(x.dtype).contiguous()
        dx = torch.empty(B, L, D, device=x.device, dtype=torch.float32)
        dv = torch.empty(B, L, E, device=x.device, dtype=torch.float32)
        if B > 0 and L > 0:
            _prop_bwd_kernel[lambda m: (triton.cdiv(L, m['BLOCK_M']), B)](
                x, v, dy, dx, dv, L, D, E, ctx.gamma, **ctx.meta)
        dx = dx.to(ctx.dtypes[0]) if ctx.needs_input_grad[0] else None
        dv = dv.to(ctx.dtypes[1]) if ctx.needs_input_grad[1] else None
        return dx, dv, None


def propagation(x, value, gamma):
    """``y[b, i] = sum_j max(x[b, i] . x[b, j], 0)^gamma * value[b, j]`` as float32.

    ``x`` (B, L, D) must already be L2-normalised; ``value`` is (B, L, E).
    No normalisation by the weight sum (PixPro's pixel propagation module).
    """
    return _Propagation.apply(x, value, gamma)
