"""What every pixel contrastive loss shares: anchor choice, memory bank, weight and name."""
import torch
import torch.nn.functional as F

from ..models.utils import ClassMemoryBank
from .anchor_sampling import hard_anchor_sampling
from .named_loss import NamedLoss

SAMPLINGS = (None, 'hard')


class BasePixelContrastLoss(NamedLoss):
    """Contrast pixel embeddings (B, D, h, w) by their labels (B, h, w).

    Subclasses implement :meth:`contrast` on (A, D) anchors. Anchors are all
    non-ignored pixels (``sampling=None``, exact through ``densecl.ops``) or
    ContrastiveSeg's hard/easy sample (``sampling='hard'``). With ``memory``,
    a pixel queue (``pixels_per_class`` random pixels of each class of each
    image) and a segment queue (each class's mean embedding in each image)
    of ``length`` entries per class are keys for every anchor, as in
    ContrastiveSeg (Wang et al. 2021, sec. 3.3); they are filled after each
    training step from all processes, every class (0 included) from the
    pixels of the embedding grid, each write moving the class's pointer by
    the number of entries written.

    A loss that is exactly 0 (no anchor with both a positive and a negative)
    for ``max_zero_steps`` training steps in a row raises: a config then asks
    for a contrast that it never computes (e.g. ``max_views`` above every
    class's pixel count), which would otherwise pass as a plain baseline.

    Args:
        temperature (float): softmax temperature.
        ignore_index (int): label of pixels that are not contrasted.
        sampling (str | None): None (all pixels) or 'hard'.
        max_samples (int): 'hard' sampling: anchors per batch at most.
        max_views (int): 'hard' sampling: anchors per (image, class) at most;
            classes with fewer pixels in an image are skipped.
        memory (dict | None): ``dict(num_classes, dim, length=5000,
            pixels_per_class=10)`` to contrast against a memory bank.
        loss_weight (float): multiplier of the loss.
        loss_name (str): key of the loss in the log; starts with 'loss_'.
        backend (str): ``densecl.ops`` backend.
        max_zero_steps (int | None): training steps in a row with a loss of
            exactly 0 that raise a RuntimeError; None never raises.
    """

    def __init__(self, temperature=0.1, ignore_index=255, sampling=None, max_samples=1024,
                 max_views=100, memory=None, loss_weight=1.0, loss_name='loss_contrast',
                 backend='auto', max_zero_steps=None):
        super().__init__(loss_weight, loss_name)
        if sampling not in SAMPLINGS:
            raise ValueError(f'sampling must be one of {SAMPLINGS}, got {sampling!r}')
        self.max_zero_steps = max_zero_steps
        self.zero_steps = 0
        self.temperature = temperature
        self.ignore_index = ignore_index
        self.sampling = sampling
        self.max_samples = max_samples
        self.max_views = max_views
        self.backend = backend
        self.pixel_bank = self.segment_bank = None
        if memory is not None:
            memory = dict(memory)
            self.pixels_per_class = memory.pop('pixels_per_class', 10)
            self.pixel_bank = ClassMemoryBank(**memory)
            self.segment_bank = ClassMemoryBank(**memory)

    @property
    def memory(self):
        """The pixel memory bank (its class count and dim are the segment bank's), or None."""
        return self.pixel_bank

    def contrast(self, anchors, labels, extra, extra_labels):
        """The loss of (A, D) ``anchors`` against the (M, D) ``extra`` keys (the memory
        entries, or None) and, unless the subclass says otherwise, against each other."""
        raise NotImplementedError

    def forward(self, embeddings, labels, predictions=None):
        """Weighted loss of L2-normalised (B, D, h, w) ``embeddings``; updates the memory.

        ``predictions`` (B, h, w), the segmenter's classes, are needed by 'hard' sampling.
        """
        anchors, anchor_labels = self.select_anchors(embeddings, labels, predictions)
        extra = extra_labels = None
        if self.memory is not None:
            extra, extra_labels = map(torch.cat, zip(self.pixel_bank.entries(),
                                                     self.segment_bank.entries()))
            extra = extra.to(anchors.dtype)
        loss = self.contrast(anchors, anchor_labels, extra, extra_labels)
        if self.training:
            self._count_zero_steps(loss)
            self.update_memory(embeddings, labels)
        return self.loss_weight * loss

    def _count_zero_steps(self, loss):
        """Raise once ``max_zero_steps`` training steps in a row had a loss of exactly 0."""
        if self.max_zero_steps is None:  # skips the host sync of .item()
            return
        self.zero_steps = self.zero_steps + 1 if loss.item() == 0 else 0
        if self.zero_steps >= self.max_zero_steps:
            raise RuntimeError(
                f'{self.loss_name} was exactly 0 for {self.zero_steps} training steps in a row: '
                'no anchor had both a positive and a negative key (check max_views against '
                'the pixels per class at the embedding size, the labels and the memory)')

    def select_anchors(self, embeddings, labels, predictions):
        """(A, D) anchor embeddings and their (A,) labels."""
        if self.sampling is None:
            return embeddings.permute(0, 2, 3, 1).flatten(0, 2), labels.flatten()
        if predictions is None:
            raise ValueError("sampling='hard' needs the segmenter's predictions: build the "
                             "model with type='PredictionSharingEncoderDecoder'")
        anchors, anchor_labels = hard_anchor_sampling(embeddings, labels, predictions,
                                                      self.max_samples, self.max_views,
                                                      self.ignore_index)
        self._check_sampled_classes(labels, anchor_labels)
        return anchors, anchor_labels

    def _check_sampled_classes(self, labels, anchor_labels):
        """Warn once when a labelled class got no anchor: no image has ``max_views`` of it."""
        classes = labels[labels != self.ignore_index].unique()
        missing = classes[~torch.isin(classes, anchor_labels)].tolist()
        if missing:
            per_image = [[int((image == c).sum()) for image in labels] for c in missing]
            self.warn_once(f'sampling kept no anchors of class(es) {missing}: pixels per image '
                           f'{per_image}, but a class is sampled only in images with more than '
                           f'max_views={self.max_views} of its pixels')

    @torch.no_grad()
    def update_memory(self, embeddings, labels):
        """Push each image's class means and ``pixels_per_class`` random pixels per class."""
        if self.memory is None:
            return
        pixels, pixel_labels, segments, segment_labels = [], [], [], []
        for feats, image_labels in zip(embeddings.flatten(2).transpose(1, 2),
                                       labels.flatten(1)):
            for c in image_labels.unique().tolist():
                if c == self.ignore_index:
                    continue
                of_class = feats[image_labels == c]
                segments.append(F.normalize(of_class.mean(0), dim=0)[None])
                picked = torch.randperm(of_class.shape[0], device=feats.device)
                pixels.append(of_class[picked[:self.pixels_per_class]])
                segment_labels.append(c)
                pixel_labels += [c] * pixels[-1].shape[0]
        if not segments:
            empty = embeddings.new_zeros(0, embeddings.shape[1])
            pixels = segments = [empty]
        as_long = dict(dtype=torch.long, device=embeddings.device)
        self.pixel_bank.push(torch.cat(pixels), torch.tensor(pixel_labels, **as_long))
        self.segment_bank.push(torch.cat(segments), torch.tensor(segment_labels, **as_long))
