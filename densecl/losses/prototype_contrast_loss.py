"""Anchor-to-prototype contrast of CSS (Wang et al., "Space Engage: Collaborative Space
Supervision for Contrastive-based Semi-Supervised Semantic Segmentation", ICCV 2023)."""
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from .. import ops
from ..models.utils import ClassPrototypes
from .base_pixel_contrast_loss import BasePixelContrastLoss

CONTRAST_PIXELS = ('sampled', 'all')


@MODELS.register_module()
class PrototypeContrastLoss(BasePixelContrastLoss):
    """CE of each anchor over [its class prototype, negatives of other classes] (CSS).

    ``L_a = -log(e^{cos(a, P_c)/t} / (e^{cos(a, P_c)/t} + sum_n e^{cos(a, n)/t}))``
    with ``c`` the anchor's label and ``n`` detached embeddings of pixels of
    other classes in the batch. The embeddings are raw (not normalised): the
    prototypes (:class:`ClassPrototypes`, buffers of this loss) average raw
    class means, every similarity is a cosine. At each call, as CSS's release
    does:

    1. each pixel's representation probability of its own class,
       ``softmax_k(cos(z, P_k) / rep_temperature)``, is taken with the
       prototypes of the previous step;
    2. the prototypes are updated from this batch's pixels (training only);
    3. ``contrast_pixels='sampled'``: for each class present, ``num_anchors``
       anchors drawn uniformly with replacement among its pixels whose
       probability is below ``hard_thresh`` (a class without any adds 0), and
       for each anchor ``num_negatives`` negatives: a class drawn from
       ``softmax_j(cos(P_c, P_j) / t)`` over the other present classes, then a
       pixel of it uniformly; the loss is the mean over anchors of each class,
       then over the present classes. ``'all'`` (densecl's first choice):
       every pixel is an anchor against every pixel of another class, exact
       through :func:`densecl.ops.prototype_contrast_loss`, averaged over pixels.

    With fewer than two classes in the batch the loss is 0. See
    :class:`BasePixelContrastLoss` for the other args.

    Args:
        num_classes (int): number of classes.
        dim (int): embedding dimension.
        temperature (float): ``t``, 0.5 in CSS.
        decay (float): weight of the previous prototype at each update.
        rep_temperature (float): temperature of the representation probabilities.
        hard_thresh (float): anchors' representation probability is below it.
        num_anchors (int): anchors per class ('sampled').
        num_negatives (int): negatives per anchor ('sampled').
        contrast_pixels (str): 'sampled' or 'all'.
    """

    def __init__(self, num_classes, dim, temperature=0.5, decay=0.99, rep_temperature=0.1,
                 hard_thresh=0.8, num_anchors=256, num_negatives=512, contrast_pixels='sampled',
                 **kwargs):
        super().__init__(temperature=temperature, **kwargs)
        if contrast_pixels not in CONTRAST_PIXELS:
            raise ValueError(f'contrast_pixels must be one of {CONTRAST_PIXELS}, '
                             f'got {contrast_pixels!r}')
        self.prototypes = ClassPrototypes(num_classes, dim, decay, self.ignore_index)
        self.rep_temperature = rep_temperature
        self.hard_thresh = hard_thresh
        self.num_anchors = num_anchors
        self.num_negatives = num_negatives
        self.contrast_pixels = contrast_pixels

    def representation_logits(self, embeddings):
        """(N, K) ``cos(z, P_k) / rep_temperature`` of (N, D) raw ``embeddings``."""
        return self.prototypes.cosines(embeddings) / self.rep_temperature

    def forward(self, embeddings, labels, predictions=None):
        """Weighted loss of raw (B, D, h, w) ``embeddings`` labelled (B, h, w)."""
        z = embeddings.permute(0, 2, 3, 1).flatten(0, 2)
        labels = labels.flatten()
        valid = labels != self.ignore_index
        z, labels = z[valid], labels[valid]
        with torch.no_grad():
            own_probs = self.representation_logits(z).softmax(1).gather(1, labels[:, None])[:, 0]
        if self.training:
            self.prototypes.update(z, labels)
        if labels.unique().numel() < 2:
            return embeddings.sum() * 0
        unit = F.normalize(z, dim=1)
        prototypes = F.normalize(self.prototypes.prototypes, dim=1).to(unit.dtype)
        if self.contrast_pixels == 'all':
            loss = ops.prototype_contrast_loss(unit, labels, prototypes, self.temperature,
                                               unit.detach(), labels, self.ignore_index,
                                               backend=self.backend)
        else:
            loss = self.sampled_contrast(unit, labels, own_probs < self.hard_thresh, prototypes)
        return self.loss_weight * loss

    def sampled_contrast(self, unit, labels, hard, prototypes):
        """Mean over present classes of the mean CE of their sampled anchors."""
        classes = labels.unique()
        total = unit.new_zeros(())
        for index, label in enumerate(classes):
            candidates = (hard & (labels == label)).nonzero()[:, 0]
            if candidates.numel() == 0:
                continue
            picked = torch.randint(candidates.numel(), (self.num_anchors, ), device=unit.device)
            # index_select: its backward adds repeated rows in a fixed order (indexing's
            # backward does not on a multi-threaded CPU, so runs and resumes would drift)
            anchors = unit.index_select(0, candidates[picked])
            negatives = self.sample_negatives(labels, classes, index, prototypes)
            logits = torch.cat([(anchors @ prototypes[label])[:, None],
                                (anchors @ unit.detach().t()).gather(1, negatives)], 1)
            total = total + F.cross_entropy(logits / self.temperature,
                                            labels.new_zeros(self.num_anchors))
        return total / classes.numel()

    @torch.no_grad()
    def sample_negatives(self, labels, classes, index, prototypes):
        """(num_anchors, num_negatives) pixel indices: a class by prototype similarity, then
        one of its pixels uniformly."""
        others = torch.cat([classes[:index], classes[index + 1:]])
        weights = (prototypes[others] @ prototypes[classes[index]] / self.temperature).softmax(0)
        drawn = others[torch.multinomial(weights, self.num_anchors * self.num_negatives,
                                         replacement=True)]
        counts = torch.bincount(labels, minlength=prototypes.shape[0])
        starts = counts.cumsum(0) - counts
        offsets = (torch.rand(drawn.shape, device=labels.device) * counts[drawn]).long()
        rows = starts[drawn] + offsets.minimum(counts[drawn] - 1)
        return labels.argsort(stable=True)[rows].view(self.num_anchors, self.num_negatives)
