"""CoroCL, the context-robust contrastive loss of RPL (Liu et al., "Residual Pattern
Learning for Pixel-wise Out-of-Distribution Detection in Semantic Segmentation", ICCV 2023)."""
import torch
from mmseg.registry import MODELS

from .. import ops
from .named_loss import NamedLoss

INLIER, OUTLIER = 0, 1


def _random_rows(rows, count):
    return rows[torch.randperm(rows.shape[0], device=rows.device)[:count]]


@MODELS.register_module()
class CoroCLLoss(NamedLoss):
    """Inlier vs outlier pixels of scene images contrasted across contexts.

    Four pools of L2-normalised embeddings: inliers and outliers of the
    scene images (pasted outliers; Cityscapes in the paper) and of the
    outlier-context images (COCO). As released, ``n = min(max_views, size of
    the smallest pool)`` random pixels are drawn from each pool; the scene
    ones are the anchors, contrasted with each other and with the context
    ones by ContrastiveSeg's loss (each positive against the negatives only,
    ``s = z.z' / temperature``, no base-temperature scaling). A batch with an
    empty pool gives 0, as released, and a warning the first time.
    ``max_views=None`` (a densecl option) contrasts every pixel of the four
    pools instead, exactly through :func:`densecl.ops.pixel_contrast_loss`.

    Args:
        temperature (float): softmax temperature (0.1 as released).
        max_views (int | None): pixels per pool at most (512 as released);
            None for all pixels.
        ignore_index (int): label of pixels in no pool.
        loss_weight (float): multiplier of the loss (1.0 as released).
        loss_name (str): key in the log; starts with 'loss_'.
        backend (str): ``densecl.ops`` backend.
    """

    def __init__(self, temperature=0.1, max_views=512, ignore_index=255, loss_weight=1.0,
                 loss_name='loss_corocl', backend='auto'):
        super().__init__(loss_weight, loss_name)
        self.temperature = temperature
        self.max_views = max_views
        self.ignore_index = ignore_index
        self.backend = backend

    def pools(self, embeddings, labels, context):
        """(N, D) rows of each pool: scene inliers, scene outliers, context inliers and outliers."""
        feats = embeddings.permute(0, 2, 3, 1)
        scene = ~context[:, None, None]
        return [feats[(labels == kind) & where]
                for where in (scene, ~scene) for kind in (INLIER, OUTLIER)]

    def select(self, embeddings, labels, context):
        """Anchors, their labels, extra keys and their labels; None when a pool is empty in
        sampled mode (no anchors)."""
        pools = self.pools(embeddings, labels, context)
        if self.max_views is not None:
            sizes = [pool.shape[0] for pool in pools]
            count = min(self.max_views, *sizes)
            if count == 0:
                self.warn_once(f'a pool is empty (scene inliers, scene outliers, context '
                               f'inliers, context outliers: {sizes} pixels): no anchors, loss 0 '
                               'for this batch')
                return None
            pools = [_random_rows(pool, count) for pool in pools]
        kinds = [torch.full((pool.shape[0],), kind, dtype=torch.long, device=pool.device)
                 for pool, kind in zip(pools, (INLIER, OUTLIER) * 2)]
        return (torch.cat(pools[:2]), torch.cat(kinds[:2]), torch.cat(pools[2:]),
                torch.cat(kinds[2:]))

    def forward(self, embeddings, labels, context):
        """Weighted loss of (B, D, h, w) L2-normalised ``embeddings``.

        ``labels`` (B, h, w): 0 inlier, 1 outlier or ``ignore_index``;
        ``context`` (B,) bool: which images are outlier-context images.
        """
        selected = self.select(embeddings, labels, context)
        if selected is None:
            return embeddings.sum() * 0
        anchors, anchor_labels, keys, key_labels = selected
        loss = ops.pixel_contrast_loss(anchors, anchor_labels, self.temperature,
                                       self.temperature, self.ignore_index, keys, key_labels,
                                       backend=self.backend)
        return self.loss_weight * loss
