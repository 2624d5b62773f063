"""DenseCL: dense contrastive learning (Wang et al., CVPR 2021)."""
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from densecl.ops import info_nce
from ..utils import KeyQueue
from .base_pretrainer import BaseMomentumPretrainer


def dense_correspondence(query_map, key_map):
    """(B, L) index of the key location most similar to each query location.

    ``j*(i) = argmax_j cos(query_i, key_j)`` within each image, on backbone
    features, as DenseCL matches its dense positives.
    """
    query = F.normalize(query_map.flatten(2), dim=1)
    key = F.normalize(key_map.flatten(2), dim=1)
    return torch.bmm(query.transpose(1, 2), key).argmax(2)


@MODELS.register_module()
class DenseCL(BaseMomentumPretrainer):
    """DenseCL (Wang et al., "Dense Contrastive Learning for Self-Supervised Visual
    Pre-Training", CVPR 2021).

    View 0 is the query, view 1 the key (momentum encoder). Global loss:
    MoCo-v2 InfoNCE of the global embeddings against a queue of past global
    keys. Dense loss: InfoNCE of each query grid embedding with the key grid
    embedding at its backbone-feature match :func:`dense_correspondence`,
    against a second queue of the keys' pooled dense embeddings (one per
    image). Both go through :func:`densecl.ops.info_nce`, which never forms
    the (N, queue) logits. Loss = (1 - lambda) global + lambda dense.

    Args:
        backbone (dict): backbone config.
        neck (dict): a :class:`DenseCLNeck` config.
        queue_length (int): keys in each queue (65,536 in DenseCL); must be
            a multiple of the global batch (``QueueLengthCheckHook``).
        temperature (float): InfoNCE temperature (0.2).
        loss_lambda (float): weight of the dense loss (0.5);
            ``DenseLossWarmupHook`` holds it at 0 for the first iterations.
        momentum (float): mmengine EMA momentum, 1 - decay (0.001 = decay 0.999).
    """

    def __init__(self, backbone, neck, queue_length=65536, temperature=0.2, loss_lambda=0.5,
                 momentum=0.001, data_preprocessor=None, init_cfg=None):
        super().__init__(backbone, neck, momentum, data_preprocessor, init_cfg)
        if not 0 <= loss_lambda <= 1:
            raise ValueError(f'loss_lambda must be in [0, 1], got {loss_lambda!r}')
        self.temperature = temperature
        self.loss_lambda = loss_lambda
        dim = self.neck.global_mlp[-1].out_features
        self.global_queue = KeyQueue(queue_length, dim)
        self.dense_queue = KeyQueue(queue_length, dim)

    def loss(self, inputs, data_samples=None):
        query_view, key_view = inputs
        query_feats = self.backbone(query_view)
        query_global, query_dense, _ = self.neck(query_feats)
        self.update_momentum_encoder()
        key_feats, (key_global, key_dense, key_pooled) = self.momentum_encode(key_view)

        query_global = F.normalize(query_global, dim=1)
        key_global = F.normalize(key_global, dim=1)
        loss_global = info_nce(query_global, key_global, self.global_queue.keys.clone(),
                               self.temperature)

        match = dense_correspondence(query_feats[self.neck.in_index],
                                     key_feats[self.neck.in_index])
        query_grid = F.normalize(query_dense.flatten(2), dim=1)  # (B, D, L)
        key_grid = F.normalize(key_dense.flatten(2), dim=1)
        key_positive = key_grid.gather(2, match[:, None].expand_as(key_grid))
        dim = query_grid.shape[1]
        loss_dense = info_nce(query_grid.transpose(1, 2).reshape(-1, dim),
                              key_positive.transpose(1, 2).reshape(-1, dim),
                              self.dense_queue.keys.clone(), self.temperature)

        self.global_queue.push(key_global)
        self.dense_queue.push(F.normalize(key_pooled, dim=1))
        return dict(loss_global=(1 - self.loss_lambda) * loss_global,
                    loss_dense=self.loss_lambda * loss_dense)
