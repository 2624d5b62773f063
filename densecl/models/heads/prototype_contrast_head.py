"""Projection head of CSS's representation space: raw embeddings for class prototypes."""
from mmseg.registry import MODELS

from .contrast_head import ContrastHead


@MODELS.register_module()
class PrototypeContrastHead(ContrastHead):
    """A :class:`ContrastHead` whose embeddings are not L2-normalised.

    CSS (Wang et al., ICCV 2023) averages raw embeddings into its class
    prototypes and compares them by cosine; its
    :class:`PrototypeContrastLoss` normalises where it needs to.
    """

    def forward(self, inputs):
        """Raw (B, embed_channels, h, w) embeddings."""
        return self.project(inputs)
