"""Naive dense formulas for the contrastive primitives and losses: the test oracle.

Every function here materialises the full (N, M) similarity matrix and writes
the loss the textbook way, with boolean masks over that matrix. Nothing is
shared with the fused paths (``tiled``, ``triton``) or with the way
``densecl.ops`` composes the losses from the primitives, so comparing
against this module checks both the kernels and the algebra built on them.
Memory is O(N x M): use it on small inputs only.

Arguments are assumed valid; ``densecl.ops`` checks them.
"""
import torch
import torch.nn.functional as F

from .precision import accumulation_dtype


def _reduce(loss, counted, reduction):
    """'none' keeps (N,); 'sum' adds; 'mean' averages over ``counted`` rows (0 if none)."""
    if reduction == 'none':
        return loss
    if reduction == 'sum':
        return loss.sum()
    return loss.sum() / counted.sum().clamp_min(1)


def _zero_rows(x, rows):
    """``x`` with the ``rows`` (a bool mask) set to 0, and zero gradient there."""
    return x.masked_fill(rows[:, None], 0)


def logsumexp(q, k, temperature, exclude_self, k_mask, q_labels=None, k_labels=None):
    """``out_i = log sum_j exp(q_i . k_j / temperature)`` over the allowed columns.

    Columns are allowed where ``k_mask`` (M,) is True, with ``exclude_self``
    where j != i, and with labels where ``k_labels[j] != q_labels[i]``. Rows
    with no allowed column give -inf and a zero gradient.
    """
    dtype = accumulation_dtype(q, k)
    logits = q.to(dtype) @ k.to(dtype).t() / temperature
    allowed = torch.ones_like(logits, dtype=torch.bool)
    if k_mask is not None:
        allowed &= k_mask[None, :]
    if q_labels is not None:
        allowed &= q_labels[:, None] != k_labels[None, :]
    if exclude_self:
        allowed &= ~torch.eye(*logits.shape, dtype=torch.bool, device=logits.device)
    empty = ~allowed.any(1, keepdim=True)
    # Empty rows would be logsumexp(-inf, ...) whose gradient is NaN: give them
    # zeros instead and overwrite their value below.
    logits = logits.masked_fill(~allowed, float('-inf')).masked_fill(empty, 0.)
    return torch.logsumexp(logits, 1).masked_fill(empty[:, 0], float('-inf'))


def positive_softplus(q, k, offset, temperature, exclude_self, q_labels, k_labels):
    """``out_i = sum_j softplus(offset_i - q_i . k_j / temperature)`` over same-label columns.

    With ``exclude_self`` the column j == i is left out. An offset of -inf
    gives 0 with a zero gradient.
    """
    dtype = accumulation_dtype(q, k)
    logits = q.to(dtype) @ k.to(dtype).t() / temperature
    positive = q_labels[:, None] == k_labels[None, :]
    if exclude_self:
        positive &= ~torch.eye(*logits.shape, dtype=torch.bool, device=logits.device)
    terms = F.softplus(offset.to(dtype)[:, None] - logits)
    return torch.where(positive, terms, 0.).sum(1)


def propagation(x, value, gamma):
    """PixPro pixel propagation ``y_i = sum_j max(x_i . x_j, 0)^gamma value_j`` (Xie et al. 2021).

    ``x`` (B, L, D) is already L2-normalised, ``value`` is (B, L, E).
    """
    dtype = accumulation_dtype(x, value)
    x = x.to(dtype)
    # relu's backward is a mask, so the weight's derivative at s <= 0 is
    # exactly 0 even for gamma < 1, where pow alone would give inf there.
    weights = torch.relu(x @ x.transpose(1, 2)).pow(gamma)
    return weights @ value.to(dtype)


def supcon_loss(z, labels, temperature, ignore_index, extra, extra_labels, reduction):
    """Supervised contrastive loss L_out (Khosla et al. 2020) over all pixels of ``z``.

    Anchor i: positives are same-label rows except i (and same-label rows of
    ``extra``); the denominator runs over every valid row except i plus every
    valid row of ``extra``. Anchors without a positive contribute 0; rows
    labelled ``ignore_index`` are neither anchors nor contrast entries.
    """
    dtype = accumulation_dtype(z) if extra is None else accumulation_dtype(z, extra)
    n = z.shape[0]
    valid_row = labels != ignore_index
    # Ignored rows take no part in the loss: zeroing them keeps a NaN or inf
    # stored there out of every product (NaN * 0 is NaN).
    z = _zero_rows(z, ~valid_row)
    contrast, contrast_labels = z, labels
    if extra is not None:
        contrast = torch.cat([z, _zero_rows(extra, extra_labels == ignore_index)])
        contrast_labels = torch.cat([labels, extra_labels])
    logits = z.to(dtype) @ contrast.to(dtype).t() / temperature
    not_self = torch.ones_like(logits, dtype=torch.bool)
    not_self[:, :n] = ~torch.eye(n, dtype=torch.bool, device=z.device)
    in_denominator = not_self & (contrast_labels != ignore_index)[None, :] & valid_row[:, None]
    positive = in_denominator & (labels[:, None] == contrast_labels[None, :])
    has_pos = positive.any(1)
    # Rows without positives are dropped; zero logits keep their
    # logsumexp finite so that no inf * 0 reaches the gradient.
    denominator = torch.logsumexp(
        logits.masked_fill(~in_denominator, float('-inf')).masked_fill(~has_pos[:, None], 0.),
        1, keepdim=True)
    log_prob = logits - denominator
    mean_log_prob_pos = (log_prob * positive).sum(1) / positive.sum(1).clamp_min(1)
    loss = -mean_log_prob_pos * has_pos
    return _reduce(loss, has_pos, reduction)


def pixel_contrast_loss(z, labels, temperature, base_temperature, ignore_index, extra,
                        extra_labels, reduction):
    """ContrastiveSeg's pixel-to-pixel loss (Wang et al., ICCV 2021, eq. 2) over all of ``z``.

    Anchor i, positive p: ``-log(e^s_ip / (e^s_ip + sum_{n in N(i)} e^s_in))``
    with N(i) the valid rows of another label, averaged over the positives
    (same-label valid rows except i) and scaled by temperature / base_temperature.
    Rows of ``extra`` are further contrast rows. Anchors without a positive
    contribute 0; rows labelled ``ignore_index`` are neither anchors nor
    contrast entries.
    """
    dtype = accumulation_dtype(z) if extra is None else accumulation_dtype(z, extra)
    n = z.shape[0]
    z = _zero_rows(z, labels == ignore_index)
    contrast, contrast_labels = z, labels
    if extra is not None:
        contrast = torch.cat([z, _zero_rows(extra, extra_labels == ignore_index)])
        contrast_labels = torch.cat([labels, extra_labels])
    logits = z.to(dtype) @ contrast.to(dtype).t() / temperature
    valid_pair = (labels != ignore_index)[:, None] & (contrast_labels != ignore_index)[None, :]
    same = labels[:, None] == contrast_labels[None, :]
    not_self = torch.ones_like(same)
    not_self[:, :n] = ~torch.eye(n, dtype=torch.bool, device=z.device)
    positive = valid_pair & same & not_self
    negative = valid_pair & ~same
    has_neg = negative.any(1)
    # log sum_n e^s_in; rows without negatives get -inf, computed from zeros
    # so that the logsumexp of an all -inf row sends no NaN gradient.
    neg_logits = logits.masked_fill(~negative, float('-inf')).masked_fill(~has_neg[:, None], 0.)
    log_neg = torch.logsumexp(neg_logits, 1).masked_fill(~has_neg, float('-inf'))
    log_prob = logits - torch.logaddexp(logits, log_neg[:, None])
    num_pos = positive.sum(1)
    mean_log_prob_pos = torch.where(positive, log_prob, 0.).sum(1) / num_pos.clamp_min(1)
    loss = -(temperature / base_temperature) * mean_log_prob_pos
    return _reduce(loss, num_pos > 0, reduction)


def info_nce(q, k_pos, negatives, temperature, reduction):
    """InfoNCE in the queue form of MoCo (He et al. 2020) and DenseCL (Wang et al. 2021).

    Row i is classified among ``[k_pos_i, negatives_0, ..., negatives_{Q-1}]``.
    """
    dtype = accumulation_dtype(q, k_pos, negatives)
    q = q.to(dtype)
    logits = torch.cat([(q * k_pos.to(dtype)).sum(1, keepdim=True),
                        q @ negatives.to(dtype).t()], 1) / temperature
    target = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
    loss = F.cross_entropy(logits, target, reduction='none')
    return _reduce(loss, torch.ones_like(target, dtype=torch.bool), reduction)


def prototype_logits(f, mu, temperature, var=None):
    """Logits ``f . mu_k / t`` plus SePiCo's variance term (Xie et al. 2023).

    With ``var`` (K, D), ``sum_d f_d^2 var_kd / (2 t^2)`` is added: the Jensen
    upper bound of ``log E_z exp(f . z / t)`` for ``z ~ N(mu_k, diag(var_k))``.
    Written as an explicit (N, K, D) broadcast.
    """
    dtype = accumulation_dtype(f, mu) if var is None else accumulation_dtype(f, mu, var)
    f = f.to(dtype)[:, None, :]
    logits = (f * mu.to(dtype)[None]).sum(-1) / temperature
    if var is not None:
        logits = logits + (f * f * var.to(dtype)[None]).sum(-1) / (2 * temperature ** 2)
    return logits


def prototype_cross_entropy(f, mu, labels, temperature, var, ignore_index, reduction):
    """Cross-entropy of :func:`prototype_logits` against ``labels``; ignored rows give 0
    whatever they hold."""
    valid = labels != ignore_index
    logits = prototype_logits(_zero_rows(f, ~valid), mu, temperature, var)
    loss = F.cross_entropy(logits, labels.masked_fill(~valid, 0).long(), reduction='none')
    return _reduce(loss * valid, valid, reduction)


def prototype_contrast_loss(z, labels, prototypes, temperature, keys, key_labels, ignore_index,
                            reduction):
    """CSS's anchor-to-prototype contrast (Wang et al., ICCV 2023) as a dense classification.

    Row i is classified among ``[P_{y_i}, keys of another label]`` with
    logits ``similarity / temperature``; ignored rows (and ignored keys) take
    no part.
    """
    dtype = accumulation_dtype(z, prototypes, keys)
    valid = labels != ignore_index
    z = _zero_rows(z, ~valid).to(dtype)
    positive = (z * prototypes.to(dtype)[labels.masked_fill(~valid, 0).long()]).sum(1)
    negative = (labels[:, None] != key_labels[None, :]) & (key_labels != ignore_index)[None, :]
    key_logits = (z @ keys.to(dtype).t()).masked_fill(~negative, float('-inf'))
    logits = torch.cat([positive[:, None], key_logits], 1) / temperature
    target = torch.zeros(z.shape[0], dtype=torch.long, device=z.device)
    loss = F.cross_entropy(logits, target, reduction='none')
    return _reduce(loss * valid, valid, reduction)


def centroid_bank_loss(f, labels, bank, bank_labels, temperature, ignore_index, reduction):
    """SePiCo's BankCL (Xie et al. 2023) from the full (N, M) logits.

    Positives of anchor i: bank entries of its label; one negative per other
    label in the bank, the mean of its entries' logits. Per positive
    ``-log(e^pos / (e^pos + sum e^neg))``, averaged over the positives.
    """
    dtype = accumulation_dtype(f, bank)
    valid, entry_valid = labels != ignore_index, bank_labels != ignore_index
    logits = _zero_rows(f, ~valid).to(dtype) @ bank.to(dtype).t() / temperature
    entry_classes = bank_labels[entry_valid].unique()
    member = bank_labels[None, :] == entry_classes[:, None]  # (C, M)
    class_logits = (logits @ member.to(dtype).t()) / member.sum(1).to(dtype)  # (N, C)
    other = labels[:, None] != entry_classes[None, :]
    negatives = torch.where(other, class_logits.exp(), 0.).sum(1, keepdim=True)
    positive = (labels[:, None] == bank_labels[None, :]) & entry_valid[None, :] & valid[:, None]
    terms = -torch.log(logits.exp() / (logits.exp() + negatives))
    num_pos = positive.sum(1)
    loss = torch.where(positive, terms, 0.).sum(1) / num_pos.clamp_min(1)
    return _reduce(loss, num_pos > 0, reduction)
