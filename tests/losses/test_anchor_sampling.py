"""ContrastiveSeg's hard anchor sampler on a hand-built label map; classes it leaves out."""
import torch

import densecl.losses.named_loss as named_loss
from densecl.losses import PixelContrastLoss, hard_anchor_sampling


def test_anchor_counts_follow_the_released_rule():
    # one 10 x 10 image: class 0 has 60 pixels, class 1 30, class 2 10.
    labels = torch.zeros(1, 10, 10, dtype=torch.long)
    labels[0, 6:9] = 1
    labels[0, 9] = 2
    predictions = labels.clone()
    predictions[0, 6, :5] = 0  # 5 hard pixels of class 1
    embeddings = torch.arange(100.).reshape(1, 1, 10, 10)  # the pixel index as feature
    anchors, anchor_labels = hard_anchor_sampling(embeddings, labels, predictions,
                                                  max_samples=30, max_views=20)
    # classes with more than 20 pixels: 0 and 1 -> n_view = min(30 // 2, 20) = 15 each
    assert anchor_labels.tolist().count(0) == 15 and anchor_labels.tolist().count(1) == 15
    assert anchor_labels.numel() == 30
    index = anchors[:, 0].long()
    assert (labels.flatten()[index] == anchor_labels).all()
    assert index[anchor_labels == 0].unique().numel() == 15  # no pixel twice
    hard = predictions.flatten()[index] != anchor_labels
    # class 1: only 5 hard pixels (< 15 // 2), all kept, topped up with 10 easy
    assert hard[anchor_labels == 1].sum() == 5
    assert hard[anchor_labels == 0].sum() == 0


def test_half_hard_half_easy_when_both_suffice_and_nothing_when_classes_are_small():
    labels = torch.zeros(2, 8, 8, dtype=torch.long)
    predictions = torch.ones_like(labels)
    predictions[:, :4] = 0  # 32 easy, 32 hard pixels per image
    embeddings = torch.randn(2, 3, 8, 8)
    anchors, anchor_labels = hard_anchor_sampling(embeddings, labels, predictions,
                                                  max_samples=100, max_views=10)
    assert anchors.shape == (20, 3)
    index = [(embeddings.flatten(2).transpose(1, 2) == a).all(-1).nonzero()[0] for a in anchors]
    hard = [predictions[img].flatten()[pix] != 0 for img, pix in index]
    assert sum(hard) == 10  # 5 hard of each image
    anchors, anchor_labels = hard_anchor_sampling(embeddings, labels, predictions,
                                                  max_samples=100, max_views=64)
    assert anchors.shape == (0, 3) and anchor_labels.numel() == 0


def test_a_labelled_class_without_anchors_warns_once_with_its_counts(monkeypatch):
    logged = []
    monkeypatch.setattr(named_loss, 'print_log', lambda msg, **kw: logged.append(msg))
    # two 32 x 32 maps (a 128 x 128 crop at stride 4): a 16 x 16 outlier (1) in
    # each, fewer than max_views=512 cells, so ContrastiveSeg's rule keeps none
    labels = torch.zeros(2, 32, 32, dtype=torch.long)
    labels[:, 8:24, 8:24] = 1
    loss = PixelContrastLoss(sampling='hard', max_samples=1024, max_views=512)
    embeddings = torch.nn.functional.normalize(torch.randn(2, 8, 32, 32), dim=1)
    anchors, anchor_labels = loss.select_anchors(embeddings, labels, labels)
    assert anchor_labels.unique().tolist() == [0] and anchors.shape[0] == 1024
    loss.select_anchors(embeddings, labels, labels)
    assert len(logged) == 1
    assert 'no anchors of class(es) [1]' in logged[0] and '[[256, 256]]' in logged[0]
    assert 'max_views=512' in logged[0]
