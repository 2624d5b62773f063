"""Contrastive losses composed from the primitives with O(N x D) extra memory.

Each loss has a dense textbook version in ``reference`` (the test oracle);
here the (N, M) terms go through the logsumexp primitive and the rest is
ordinary autograd on per-row quantities.
"""
import torch

from . import reference
from .checks import (check_feature_dim, check_float, check_index, check_label_range,
                     check_labelled_set, check_like, check_positive, check_prototypes,
                     check_reduction)
from .dispatch import backend_module, resolve_backend
from .precision import accumulation_dtype


def reduce_rows(loss_valid, valid, counted, reduction):
    """Reduce per-row losses of the ``valid`` rows; 'none' scatters them into (N,) zeros.

    'mean' divides by the number of ``counted`` rows, and is 0 (still attached
    to the graph, with zero gradient) when there are none.
    """
    if reduction == 'none':
        return loss_valid.new_zeros(valid.shape).masked_scatter(valid, loss_valid)
    if reduction == 'sum':
        return loss_valid.sum()
    return loss_valid.sum() / counted.sum().clamp_min(1)


def _labelled_rows(z, labels, ignore_index, extra, extra_labels):
    """The non-ignored rows of ``z`` and ``extra`` with dense class ids 0..C-1 shared by both.

    Returns ``(valid, pixels, bank, pixel_class, bank_class, num_classes)``;
    ``bank`` is None without ``extra``.
    """
    valid = labels != ignore_index
    pixels, class_of, bank = z[valid], labels[valid], None
    if extra is not None:
        extra_valid = extra_labels != ignore_index
        bank = extra[extra_valid]
        class_of = torch.cat([class_of, extra_labels[extra_valid]])
    class_ids, class_of = torch.unique(class_of, return_inverse=True)
    num_pixels = pixels.shape[0]
    return valid, pixels, bank, class_of[:num_pixels], class_of[num_pixels:], class_ids.numel()


def supcon_loss(z, labels, temperature=0.1, ignore_index=255, extra=None, extra_labels=None,
                reduction='mean', backend='auto'):
    """Supervised contrastive loss L_out over pixels (Khosla et al. 2020).

    For anchor i, the positives P(i) are the other pixels with its label (and
    the entries of ``extra`` with its label); the denominator A(i) is every
    valid pixel except i plus every valid entry of ``extra``::

        L_i = -1/|P(i)| sum_{p in P(i)} log(exp(z_i.z_p / t) / sum_{a in A(i)} exp(z_i.z_a / t))

    The fused path never forms the (N, N) matrix: the denominator is the
    logsumexp primitive, and the positive logits sum to
    ``z_i . (S_{y_i} - z_i)`` with per-class sums ``S_c`` of the batch and the
    extra set. With one positive per anchor this is InfoNCE.

    Args:
        z (Tensor): (N, D) pixel embeddings (usually L2-normalised).
        labels (Tensor): (N,) integer labels, any values (only equality matters).
        temperature (float): > 0.
        ignore_index (int): label of pixels that are neither anchors nor
            contrasted against.
        extra (Tensor, optional): (M, D) extra contrast set, e.g. a memory bank.
        extra_labels (Tensor, optional): (M,) labels of ``extra``.
        reduction (str): 'mean' over anchors with a positive (0 if there are
            none), 'sum', or 'none' for (N,) with 0 at ignored and
            positive-less rows.
        backend (str): one of :data:`BACKENDS`.
    """
    check_labelled_set(z, labels, extra, extra_labels)
    temperature = check_positive('temperature', temperature)
    check_reduction(reduction)
    backend = resolve_backend(backend, z.device, z.dtype, (z.shape[1],))
    if backend == 'reference':
        return reference.supcon_loss(z, labels, temperature, ignore_index, extra,
                                     extra_labels, reduction)
    module = backend_module(backend)
    dtype = accumulation_dtype(z)

    valid, pixels, bank, pixel_class, bank_class, num_classes = _labelled_rows(
        z, labels, ignore_index, extra, extra_labels)

    # Dropping the ignored rows first lets the primitive exclude j == i
    # without a key mask.
    lse = module.logsumexp(pixels, pixels, temperature, True, None).to(dtype)
    pixels_acc = pixels.to(dtype)
    class_sum = pixels_acc.new_zeros(num_classes, z.shape[1]).index_add(
        0, pixel_class, pixels_acc)
    class_count = torch.bincount(pixel_class, minlength=num_classes)
    if extra is not None:
        lse_bank = module.logsumexp(pixels, bank, temperature, False, None).to(dtype)
        class_sum = class_sum.index_add(0, bank_class, bank.to(dtype))
        class_count = class_count + torch.bincount(bank_class, minlength=num_classes)
    num_pos = (class_count[pixel_class] - 1).to(dtype)
    has_pos = num_pos > 0
    # An anchor without positives may have an empty denominator (-inf); it
    # is dropped below, but logaddexp(-inf, -inf) would send NaN gradients.
    lse = lse.masked_fill(~has_pos, 0.)
    if extra is not None:
        lse = torch.logaddexp(lse, lse_bank.masked_fill(~has_pos, 0.))
    pos_sum = (pixels_acc * (class_sum[pixel_class] - pixels_acc)).sum(1)
    loss = torch.where(has_pos, lse - pos_sum / (temperature * num_pos.clamp_min(1)), 0.)
    return reduce_rows(loss, valid, has_pos, reduction)


def info_nce(q, k_pos, negatives, temperature=0.2, reduction='mean', backend='auto'):
    """InfoNCE in the queue form of MoCo (He et al. 2020) and DenseCL (Wang et al. 2021).

    ``L_i = -log(exp(q_i.k_i / t) / (exp(q_i.k_i / t) + sum_j exp(q_i.n_j / t)))``.
    The negatives' term is the logsumexp primitive, so a queue of 65,536
    keys is never expanded to (N, Q).

    Args:
        q (Tensor): (N, D) queries.
        k_pos (Tensor): (N, D) positive key of each query.
        negatives (Tensor): (Q, D) negative keys shared by all queries.
        temperature (float): > 0.
        reduction (str): 'mean', 'sum' or 'none' (N,).
        backend (str): one of :data:`BACKENDS`.
    """
    check_float('q', q, 2)
    check_float('k_pos', k_pos, 2)
    check_float('negatives', negatives, 2)
    check_like('k_pos', k_pos, 'q', q)
    check_like('negatives', negatives, 'q', q)
    if k_pos.shape != q.shape:
        raise ValueError(f'k_pos must have the shape of q {tuple(q.shape)}, '
                         f'got {tuple(k_pos.shape)}')
    check_feature_dim('negatives', negatives, 'q', q)
    temperature = check_positive('temperature', temperature)
    check_reduction(reduction)
    backend = resolve_backend(backend, q.device, q.dtype, (q.shape[1],))
    if backend == 'reference':
        return reference.info_nce(q, k_pos, negatives, temperature, reduction)
    dtype = accumulation_dtype(q)
    pos = (q.to(dtype) * k_pos.to(dtype)).sum(1) / temperature
    lse_neg = backend_module(backend).logsumexp(q, negatives, temperature, False, None)
    loss = torch.logaddexp(pos, lse_neg.to(dtype)) - pos
    every_row = torch.ones_like(loss, dtype=torch.bool)
    return reduce_rows(loss, every_row, every_row, reduction)


def prototype_logits(f, mu, temperature, var=None):
    """(N, K) logits ``f . mu_k / t`` of features against class prototypes.

    With ``var``, SePiCo's distribution-aware term ``sum_d f_d^2 var_kd / (2 t^2)``
    is added (Xie et al. 2023): the Jensen upper bound of
    ``log E_z exp(f . z / t)`` for ``z ~ N(mu_k, diag(var_k))``.

    Args:
        f (Tensor): (N, D) features.
        mu (Tensor): (K, D) prototype means.
        temperature (float): > 0.
        var (Tensor, optional): (K, D) diagonal prototype variances.
    """
    check_prototypes(f, mu, var)
    temperature = check_positive('temperature', temperature)
    dtype = accumulation_dtype(f)
    f = f.to(dtype)
    logits = f @ mu.to(dtype).t() / temperature
    if var is not None:
        logits = logits + (f * f) @ var.to(dtype).t() / (2 * temperature ** 2)
    return logits


def prototype_cross_entropy(f, mu, labels, temperature, var=None, ignore_index=255,
                            reduction='mean', backend='auto'):
    """Cross-entropy of :func:`prototype_logits` against ``labels`` (SePiCo, Xie et al. 2023).

    The fused path never forms (N, K): with ``q' = [f, f^2]`` and
    ``k' = [mu, var / (2t)]``, ``q' . k' / t`` is exactly the logit, so the
    log-partition is the logsumexp primitive on (q', k') and the target
    logit a row-wise dot product.

    Args:
        f (Tensor): (N, D) features.
        mu (Tensor): (K, D) prototype means.
        labels (Tensor): (N,) integer labels in [0, K) or ``ignore_index``.
        temperature (float): > 0.
        var (Tensor, optional): (K, D) diagonal prototype variances.
        ignore_index (int): label of rows that are left out.
        reduction (str): 'mean' over non-ignored rows (0 if none), 'sum', or
            'none' for (N,) with 0 at ignored rows.
        backend (str): one of :data:`BACKENDS`.
    """
    check_prototypes(f, mu, var)
    check_index('labels', labels, f.shape[0], 'f', f)
    check_label_range('labels', labels, mu.shape[0], ignore_index)
    temperature = check_positive('temperature', temperature)
    check_reduction(reduction)
    # With var the primitive sees [f, f^2] . [mu, var / 2t]: twice the feature dim.
    feature_dim = f.shape[1] * (1 if var is None else 2)
    backend = resolve_backend(backend, f.device, f.dtype, (feature_dim,))
    if backend == 'reference':
        return reference.prototype_cross_entropy(f, mu, labels, temperature, var,
                                                 ignore_index, reduction)
    dtype = accumulation_dtype(f)
    valid = labels != ignore_index
    queries, keys = f[valid].to(dtype), mu.to(dtype)
    if var is not None:
        queries = torch.cat([queries, queries * queries], 1)
        keys = torch.cat([keys, var.to(dtype) / (2 * temperature)], 1)
    lse = backend_module(backend).logsumexp(queries, keys, temperature, False, None).to(dtype)
    target_logit = (queries * keys[labels[valid].long()]).sum(1) / temperature
    return reduce_rows(lse - target_logit, valid, valid, reduction)


def centroid_bank_loss(f, labels, bank, bank_labels, temperature, ignore_index=255,
                       reduction='mean', backend='auto'):
    """SePiCo's BankCL: features against a bank of past class centroids (Xie et al. 2023).

    With ``s(x) = f_i . x / t``, anchor i of class ``y_i`` takes every bank
    entry of its class as a positive and one negative per other class ``k``
    in the bank, whose logit is the mean of ``s`` over class k's entries,
    i.e. ``s(bbar_k)`` with ``bbar_k`` their mean::

        L_i = 1/|P_i| sum_{p in P_i} -log(e^s(b_p) / (e^s(b_p) + sum_{k != y_i} e^s(bbar_k)))
            = 1/|P_i| sum_{p in P_i} softplus(log sum_{k != y_i} e^s(bbar_k) - s(b_p))

    The negatives' term is the label-aware logsumexp primitive over the class
    means, the positives' sum the positive-pair softplus primitive, so the
    (N, M) logits are never formed. Anchors whose class has no bank entry
    contribute 0.

    Args:
        f (Tensor): (N, D) features.
        labels (Tensor): (N,) integer labels, any values.
        bank (Tensor): (M, D) stored centroids.
        bank_labels (Tensor): (M,) their labels.
        temperature (float): > 0.
        ignore_index (int): label of rows (anchors or entries) left out.
        reduction (str): 'mean' over anchors with a positive (0 if none),
            'sum', or 'none' for (N,) with 0 at ignored and positive-less rows.
        backend (str): one of :data:`BACKENDS`.
    """
    check_labelled_set(f, labels, bank, bank_labels)
    temperature = check_positive('temperature', temperature)
    check_reduction(reduction)
    backend = resolve_backend(backend, f.device, f.dtype, (f.shape[1],))
    if backend == 'reference':
        return reference.centroid_bank_loss(f, labels, bank, bank_labels, temperature,
                                            ignore_index, reduction)
    module = backend_module(backend)
    dtype = accumulation_dtype(f)
    valid, anchors, entries, anchor_class, entry_class, num_classes = _labelled_rows(
        f, labels, ignore_index, bank, bank_labels)
    entry_count = torch.bincount(entry_class, minlength=num_classes)
    class_means = entries.new_zeros(num_classes, f.shape[1]).index_add(
        0, entry_class, entries) / entry_count.clamp_min(1)[:, None].to(entries.dtype)
    class_ids = torch.arange(num_classes, device=f.device)
    log_neg = module.logsumexp(anchors, class_means, temperature, False, entry_count > 0,
                               anchor_class, class_ids).to(dtype)
    pos_sum = module.positive_softplus(anchors, entries, log_neg, temperature, False,
                                       anchor_class, entry_class).to(dtype)
    num_pos = entry_count[anchor_class]
    loss = pos_sum / num_pos.clamp_min(1).to(dtype)
    return reduce_rows(loss, valid, num_pos > 0, reduction)


def _log_add(a, b):
    """``logaddexp(a, b)`` whose gradient stays finite where both are -inf (result -inf)."""
    empty = torch.isneginf(a) & torch.isneginf(b)
    return torch.logaddexp(a.masked_fill(empty, 0.), b.masked_fill(empty, 0.)).masked_fill(
        empty, float('-inf'))


def pixel_contrast_loss(z, labels, temperature=0.1, base_temperature=0.07, ignore_index=255,
                        extra=None, extra_labels=None, reduction='mean', backend='auto'):
    """ContrastiveSeg's pixel-to-pixel contrastive loss (Wang et al., ICCV 2021, eq. 2).

    Unlike SupCon's L_out, each positive is contrasted with the negatives
    only. With ``s_ij = z_i . z_j / t``, positives P(i) (the other pixels of
    the anchor's label) and negatives N(i) (the pixels of other labels)::

        L_i = (t / base_t) / |P(i)| sum_{p in P(i)} -log(e^s_ip / (e^s_ip + sum_{n in N(i)} e^s_in))
            = (t / base_t) / |P(i)| sum_{p in P(i)} softplus(log sum_{n in N(i)} e^s_in - s_ip)

    The rows of ``extra`` are further keys, positives or negatives by their
    label, as ContrastiveSeg's pixel/region memory bank. The fused path is
    exact over all non-ignored pixels and never forms the (N, N) matrix: pass
    1 is the label-aware logsumexp primitive (the negatives' term per anchor),
    pass 2 the positive-pair softplus primitive with that term as offset. An
    anchor without negatives has loss 0 (``-log(e^s / e^s)``).

    Args:
        z (Tensor): (N, D) pixel embeddings (usually L2-normalised).
        labels (Tensor): (N,) integer labels, any non-negative values.
        temperature (float): > 0.
        base_temperature (float): > 0; the loss is scaled by
            ``temperature / base_temperature``.
        ignore_index (int): label of pixels that are neither anchors nor
            contrasted against.
        extra (Tensor, optional): (M, D) extra keys, e.g. a memory bank.
        extra_labels (Tensor, optional): (M,) labels of ``extra``.
        reduction (str): 'mean' over anchors with a positive (0 if there are
            none), 'sum', or 'none' for (N,) with 0 at ignored and
            positive-less rows.
        backend (str): one of :data:`BACKENDS`.
    """
    check_labelled_set(z, labels, extra, extra_labels)
    temperature = check_positive('temperature', temperature)
    base_temperature = check_positive('base_temperature', base_temperature)
    check_reduction(reduction)
    backend = resolve_backend(backend, z.device, z.dtype, (z.shape[1],))
    if backend == 'reference':
        return reference.pixel_contrast_loss(z, labels, temperature, base_temperature,
                                             ignore_index, extra, extra_labels, reduction)
    module = backend_module(backend)
    dtype = accumulation_dtype(z)

    valid, pixels, bank, pixel_class, bank_class, num_classes = _labelled_rows(
        z, labels, ignore_index, extra, extra_labels)

    log_neg = module.logsumexp(pixels, pixels, temperature, True, None, pixel_class,
                               pixel_class).to(dtype)
    if extra is not None:
        log_neg = _log_add(log_neg, module.logsumexp(pixels, bank, temperature, False, None,
                                                     pixel_class, bank_class).to(dtype))
    pos_sum = module.positive_softplus(pixels, pixels, log_neg, temperature, True,
                                       pixel_class, pixel_class).to(dtype)
    num_pos = torch.bincount(pixel_class, minlength=num_classes)[pixel_class] - 1
    if extra is not None:
        pos_sum = pos_sum + module.positive_softplus(pixels, bank, log_neg, temperature, False,
                                                     pixel_class, bank_class).to(dtype)
        num_pos = num_pos + torch.bincount(bank_class, minlength=num_classes)[pixel_class]
    # Anchors without positives have pos_sum = 0 with zero gradient already.
    loss = pos_sum * (temperature / base_temperature) / num_pos.clamp_min(1).to(dtype)
    return reduce_rows(loss, valid, num_pos > 0, reduction)


def prototype_contrast_loss(z, labels, prototypes, temperature=0.5, keys=None, key_labels=None,
                            ignore_index=255, reduction='mean', backend='auto'):
    """CSS's contrast of each anchor with its class prototype (Wang et al., ICCV 2023).

    With similarities ``s = z_i . x / temperature`` (cosines for L2-normalised
    inputs), anchor i of class ``y_i`` is classified among its prototype and
    the keys of every other class::

        L_i = -log(e^s(P_{y_i}) / (e^s(P_{y_i}) + sum_{j: y_j != y_i} e^s(k_j)))
            = softplus(log sum_{j: y_j != y_i} e^s(k_j) - s(P_{y_i}))

    The release samples 256 anchors per class and 512 negatives per anchor
    (:class:`PrototypeContrastLoss`'s default); here the negatives' term is
    the label-aware logsumexp primitive, so every valid pixel can be an
    anchor and a key without the (N, M) matrix. An anchor without negatives
    has loss ``softplus(-inf) = 0``.

    Args:
        z (Tensor): (N, D) anchor embeddings.
        labels (Tensor): (N,) integer labels in [0, K) or ``ignore_index``.
        prototypes (Tensor): (K, D) class prototypes.
        temperature (float): > 0 (0.5 in CSS).
        keys (Tensor, optional): (M, D) negatives' pool; defaults to ``z``
            (pass ``z.detach()`` to keep the keys constant).
        key_labels (Tensor, optional): (M,) labels of ``keys``; defaults to ``labels``.
        ignore_index (int): label of rows that are neither anchors nor keys.
        reduction (str): 'mean' over valid anchors (0 if none), 'sum' or 'none' (N,).
        backend (str): one of :data:`BACKENDS`.
    """
    if keys is None:
        keys, key_labels = z, labels
    check_labelled_set(z, labels, keys, key_labels)
    check_prototypes(z, prototypes, None)
    check_label_range('labels', labels, prototypes.shape[0], ignore_index)
    temperature = check_positive('temperature', temperature)
    check_reduction(reduction)
    backend = resolve_backend(backend, z.device, z.dtype, (z.shape[1],))
    if backend == 'reference':
        return reference.prototype_contrast_loss(z, labels, prototypes, temperature, keys,
                                                 key_labels, ignore_index, reduction)
    dtype = accumulation_dtype(z)
    valid, key_valid = labels != ignore_index, key_labels != ignore_index
    anchors, anchor_labels = z[valid], labels[valid]
    log_neg = backend_module(backend).logsumexp(anchors, keys[key_valid], temperature, False,
                                                None, anchor_labels,
                                                key_labels[key_valid]).to(dtype)
    positive = (anchors.to(dtype) * prototypes.to(dtype)[anchor_labels.long()]).sum(1)
    loss = torch.nn.functional.softplus(log_neg - positive / temperature)
    return reduce_rows(loss, valid, valid, reduction)
