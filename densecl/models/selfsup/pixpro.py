"""PixPro and PixContrast: pixel-level consistency (Xie et al., CVPR 2021)."""
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from densecl.ops import pixel_logsumexp
from ..utils import view_positive_pairs
from ..utils.crop_geometry import CROP_COORDS
from .base_pretrainer import BaseMomentumPretrainer


def pixpro_consistency_loss(prediction, key, positive):
    """PixPro's loss of one direction, in [-2, 2].

    Per image ``-2 * sum_ij mask_ij cos(y_i, x'_j) / (sum_ij mask_ij + 1e-6)``,
    averaged over the batch.

    Args:
        prediction (Tensor): (B, D, H, W) propagated query embeddings, normalised.
        key (Tensor): (B, D, H', W') momentum embeddings of the other view, normalised.
        positive (Tensor): (B, H*W, H'*W') bool positive pairs.
    """
    cosine = torch.bmm(prediction.flatten(2).transpose(1, 2), key.flatten(2))
    mask = positive.to(cosine.dtype)
    per_image = (cosine * mask).sum((1, 2)) / (mask.sum((1, 2)) + 1e-6)
    return -2 * per_image.mean()


def pixcontrast_loss(query, key, positive, temperature):
    """PixContrast's InfoNCE over pixels, one direction.

    ``L_i = -log(sum_{j in P(i)} e^{q_i.k_j / t} / sum_j e^{q_i.k_j / t})``
    with the positives P(i) of the crop geometry (same image) and the
    denominator over every key pixel of the batch, computed by
    :func:`densecl.ops.pixel_logsumexp` without the (N, N) matrix. Pixels
    without a positive are left out (0 when none has one).

    Args:
        query (Tensor): (B, D, H, W) normalised query embeddings.
        key (Tensor): (B, D, H', W') normalised key embeddings of the other view.
        positive (Tensor): (B, H*W, H'*W') bool positive pairs.
        temperature (float): > 0.
    """
    dim = query.shape[1]
    query = query.flatten(2).transpose(1, 2)  # (B, L, D)
    key = key.flatten(2).transpose(1, 2)
    has_positive = positive.any(2)
    # Within-image logits only: L x L' per image is small.
    logits = torch.bmm(query, key.transpose(1, 2)) / temperature
    logits = logits.masked_fill(~positive, float('-inf')).masked_fill(~has_positive[..., None], 0)
    log_positive = logits.logsumexp(2)
    log_all = pixel_logsumexp(query.reshape(-1, dim), key.reshape(-1, dim), temperature)
    loss = (log_all.view_as(log_positive) - log_positive)[has_positive]
    return loss.mean() if loss.numel() else log_all.sum() * 0


@MODELS.register_module()
class PixPro(BaseMomentumPretrainer):
    """PixPro and PixContrast (Xie et al., "Propagate Yourself: Exploring Pixel-Level
    Consistency for Unsupervised Visual Representation Learning", CVPR 2021).

    Both views go through the query encoder (backbone + :class:`PixProNeck`)
    and the momentum encoder; positive pixel pairs come from the crop boxes
    and flips that :class:`TwoViewCrop` records
    (:func:`~densecl.models.utils.view_positive_pairs`). PixPro: the
    query side's :class:`PixelPropagation` output should agree with the
    other view's momentum embedding at the positives; symmetric, so the loss
    lies in [-4, 4]. PixContrast (described in the paper, never released):
    pixel InfoNCE against every key pixel of the batch. Either or both, by
    their weights.

    Args:
        backbone (dict): backbone config.
        neck (dict): a :class:`PixProNeck` config.
        propagation (dict, optional): a :class:`PixelPropagation` config;
            needed when ``pixpro_weight`` > 0.
        pixpro_weight (float): weight of the PixPro loss.
        pixcontrast_weight (float): weight of the PixContrast loss.
        temperature (float): PixContrast temperature (0.3 in the paper).
        pos_threshold (float): positive pairs are closer than this many bin
            diagonals (0.7).
        crop_coords (str): how crop boxes map bins to image coordinates:
            'pixel_centres' as released (a crop spans the centres of its
            first and last pixels, ``x / (W - 1)``), or 'pixel_edges'
            (densecl's option: the crop's outer pixel edges, ``x / W``,
            exact for the half-pixel resize of :class:`TwoViewCrop`); see
            :func:`~densecl.models.utils.crop_geometry.pixel_centre_boxes`.
        momentum (float): mmengine EMA momentum, 1 - decay (0.01 = decay
            0.99; ``PixProMomentumHook`` anneals it to 0).
    """

    def __init__(self, backbone, neck, propagation=None, pixpro_weight=1.0,
                 pixcontrast_weight=0.0, temperature=0.3, pos_threshold=0.7,
                 crop_coords='pixel_centres', momentum=0.01, data_preprocessor=None,
                 init_cfg=None):
        super().__init__(backbone, neck, momentum, data_preprocessor, init_cfg)
        if pixpro_weight < 0 or pixcontrast_weight < 0 or pixpro_weight + pixcontrast_weight == 0:
            raise ValueError('pixpro_weight and pixcontrast_weight must be >= 0, one of them > 0; '
                             f'got {pixpro_weight!r} and {pixcontrast_weight!r}')
        if crop_coords not in CROP_COORDS:
            raise ValueError(f'crop_coords must be one of {CROP_COORDS}, got {crop_coords!r}')
        if pixpro_weight > 0 and propagation is None:
            raise ValueError('PixPro with pixpro_weight > 0 needs a propagation module config')
        self.propagation = MODELS.build(propagation) if pixpro_weight > 0 else None
        self.pixpro_weight = pixpro_weight
        self.pixcontrast_weight = pixcontrast_weight
        self.temperature = temperature
        self.pos_threshold = pos_threshold
        self.crop_coords = crop_coords

    def loss(self, inputs, data_samples):
        queries = [self.neck(self.backbone(view)) for view in inputs]
        self.update_momentum_encoder()
        keys = [F.normalize(self.momentum_encode(view)[1], dim=1) for view in inputs]
        positive = view_positive_pairs(data_samples, queries[0].shape[2:], queries[1].shape[2:],
                                       self.pos_threshold, self.crop_coords, queries[0].device)
        directions = ((0, 1, positive), (1, 0, positive.transpose(1, 2)))
        losses = {}
        if self.pixpro_weight > 0:
            predictions = [self.propagation(query) for query in queries]
            losses['loss_pixpro'] = self.pixpro_weight * sum(
                pixpro_consistency_loss(predictions[a], keys[b], mask)
                for a, b, mask in directions)
        if self.pixcontrast_weight > 0:
            normalised = [F.normalize(query, dim=1) for query in queries]
            losses['loss_pixcontrast'] = self.pixcontrast_weight * sum(
                pixcontrast_loss(normalised[a], keys[b], mask, self.temperature)
                for a, b, mask in directions)
        return losses
