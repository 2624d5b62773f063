"""Shrink teacher-student configs (configs/semi, configs/sepico) for few-iteration tests."""
import ast
import os.path as osp

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CROP = '(32,32)'
# Training sets that pair a labelled dataset with an unlabelled one, by their field names.
PAIRED = {'SemiSegDataset': ('labeled', 'unlabeled'),
          'DomainAdaptationDataset': ('source', 'target')}


def labelled_dataset_key(cfg):
    """The --cfg-options prefix of the labelled training dataset of ``cfg``."""
    pair = PAIRED.get(cfg.train_dataloader.dataset.type)
    return f'train_dataloader.dataset.{pair[0]}' if pair else 'train_dataloader.dataset'


def tiny_options(cfg, data_root, iters):
    """--cfg-options that shrink ``cfg`` to a narrow DeepLabV3+ R18, 32 x 32 crops, tiny
    batches without worker processes and ``iters`` iterations (auxiliary heads not included:
    they differ between the families)."""
    pair = PAIRED.get(cfg.train_dataloader.dataset.type)
    labelled = labelled_dataset_key(cfg)
    options = {
        'model.segmentor.backbone.stem_channels': 16,
        'model.segmentor.backbone.base_channels': 8,
        'model.segmentor.backbone.init_cfg': None,  # narrow: no pretrained weights fit
        'model.segmentor.decode_head.in_channels': 64,
        'model.segmentor.decode_head.channels': 16,
        'model.segmentor.decode_head.c1_in_channels': 8,
        'model.segmentor.decode_head.c1_channels': 4,
        'model.data_preprocessor.size': CROP,
        'train_dataloader.batch_size': 4 if pair else 2,
        f'{labelled}.data_root': data_root,
        f'{labelled}.pipeline.4.crop_size': CROP,  # RandomCrop of train_pipeline
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'param_scheduler.0.end': iters,
        'default_hooks.checkpoint.interval': iters,
        'default_hooks.logger.interval': 1,
    }
    if pair:
        unlabelled = f'train_dataloader.dataset.{pair[1]}'
        options.update({'train_dataloader.sampler.batch_size': 4,
                        'train_dataloader.sampler.num_labeled': 2,
                        f'{unlabelled}.data_root': data_root,
                        f'{unlabelled}.pipeline.2.crop_size': CROP})
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options[f'{loader}.num_workers'] = 0
        options[f'{loader}.persistent_workers'] = False
    return options


def config_with_options(config, options, work_dir):
    """``config`` with command-line style ``options`` merged, as a Config for Runner.from_cfg."""
    cfg = Config.fromfile(config)
    literal = ('(', '[')  # crop sizes and channel lists are given as command-line text
    cfg.merge_from_dict({key: ast.literal_eval(value) if str(value).startswith(literal) else value
                         for key, value in options.items()})
    cfg.work_dir = work_dir
    return cfg


def cli(options):
    return [f'{key}={value}' for key, value in options.items()]
