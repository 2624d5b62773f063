"""Labelled source and unlabelled target images in one stream, for domain adaptation."""
from mmseg.registry import DATASETS

from .semi import SemiSegDataset


@DATASETS.register_module()
class DomainAdaptationDataset(SemiSegDataset):
    """A labelled source dataset followed by an unlabelled target dataset.

    The UDA form of :class:`SemiSegDataset` (sampled by
    :class:`SemiSupervisedSampler`, the target pipeline ending in
    :class:`StrongViews` and :class:`PackSemiInputs`): the target labels are
    never loaded. Both must name the same classes in the same order, since
    the source classifier labels the target; otherwise it raises before
    training with both lists. Other metainfo (palette, label maps) may differ.

    Args:
        source (dict): config of the labelled source dataset.
        target (dict): config of the unlabelled target dataset.
    """

    def __init__(self, source, target, **kwargs):
        source, target = (DATASETS.build(d) if isinstance(d, dict) else d for d in (source, target))
        source_classes = tuple(source.metainfo.get('classes', ()))
        target_classes = tuple(target.metainfo.get('classes', ()))
        if source_classes != target_classes:
            raise ValueError(
                f'DomainAdaptationDataset: source and target datasets have different classes: '
                f'source ({type(source).__name__}) {list(source_classes)}, target '
                f'({type(target).__name__}) {list(target_classes)}')
        others = (set(source.metainfo) | set(target.metainfo)) - {'classes'}
        super().__init__(labeled=source, unlabeled=target,
                         ignore_keys=sorted(others | set(kwargs.pop('ignore_keys', []))),
                         **kwargs)
