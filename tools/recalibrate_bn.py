"""Re-estimate a checkpoint's BatchNorm statistics on a folder of (target) images: AdaBN.

    python tools/recalibrate_bn.py CONFIG CHECKPOINT OUT --img-dir img_dir/target_train
    python tools/test.py CONFIG OUT

The images (no labels) go through the config's test pipeline, annotation steps left out.
Only BatchNorm running means and variances change (densecl.engine.recalibrate_batchnorm);
a teacher-student model has both branches recalibrated, an RPL model its residual block
too. OUT holds the state dict and the checkpoint's meta; it is never CHECKPOINT, an
existing file is replaced only with --force (checked before the model is built), and in
one rename, so a failed write leaves it whole.
"""
import argparse
import os.path as osp

import torch
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS
from torch.utils.data import DataLoader

import densecl  # noqa: F401  (registers datasets and models)
from densecl.engine import (atomic_write, check_output, checkpoint_mismatch, load_config,
                            recalibrate_batchnorm)
from densecl.engine.batchnorm import tensor_forward
from densecl.models.segmentors import RPLEncoderDecoder

ANNOTATION_STEPS = ('LoadAnnotations', 'CheckSegLabels')
# data_prefix entries of label folders (ToyScenesOoDDataset's anomaly masks), left empty
LABEL_FOLDERS = ('seg_map_path', 'anomaly_path')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='checkpoint to recalibrate')
    parser.add_argument('out', help='where the recalibrated checkpoint is written')
    parser.add_argument('--img-dir', required=True,
                        help="image folder under the test dataset's data_root, "
                        'e.g. img_dir/target_train')
    parser.add_argument('--batch-size', type=int, default=8,
                        help='images per batch (each batch gives one mean and variance)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    parser.add_argument('--force', action='store_true', help='overwrite an existing OUT')
    return parser.parse_args(argv)


def image_dataset(cfg, img_dir):
    """The test dataset of ``cfg`` on ``img_dir`` without labels."""
    dataset = cfg.test_dataloader.dataset.copy()
    folder = osp.join(dataset.data_root, img_dir)
    if not osp.isdir(folder):
        raise FileNotFoundError(f'--img-dir {img_dir}: no folder {folder} (data_root '
                                f'{dataset.data_root} of the config\'s test dataset)')
    dataset.data_prefix = dict(dict.fromkeys(LABEL_FOLDERS, ''), img_path=img_dir)
    dataset.pipeline = [t for t in dataset.pipeline if t['type'] not in ANNOTATION_STEPS]
    return DATASETS.build(dataset)


def segmentors_of(model):
    """The networks that predict: a teacher-student model's two branches, else the model."""
    if hasattr(model, 'student') and hasattr(model, 'teacher'):
        return [model.student, model.teacher.module]
    return [model]


def predicting_forward(segmentor, inputs):
    """The layers inference runs: RPL's closed-set path and its residual block."""
    if isinstance(segmentor, RPLEncoderDecoder):
        return segmentor.forward_pair(segmentor.extract_feat(inputs))
    return tensor_forward(segmentor, inputs)


def main(argv=None):
    args = parse_args(argv)
    if args.batch_size < 2:
        raise SystemExit('error: --batch-size must be >= 2 (a batch variance needs 2 images)')
    try:
        check_output(args.out, [args.checkpoint, args.config], args.force, 'OUT')
    except (ValueError, OSError) as error:
        raise SystemExit(f'error: {error}')
    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    mismatch = checkpoint_mismatch(model, args.checkpoint)
    if mismatch:
        raise SystemExit(f'error: {args.checkpoint} does not fit the model of {args.config}:\n'
                         f'{mismatch}')
    dataset = image_dataset(cfg, args.img_dir)
    if len(dataset) < 2:
        raise SystemExit(f'error: {len(dataset)} image(s) in {args.img_dir}: a batch variance '
                         'needs 2')
    batch_size = min(args.batch_size, len(dataset))
    if batch_size < args.batch_size:
        print(f'{args.img_dir} holds {len(dataset)} images: one batch of {batch_size}')
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=pseudo_collate,
                        drop_last=True)  # a last batch of one image has no variance
    batches = (model.data_preprocessor(batch, False)['inputs'] for batch in loader)
    count = recalibrate_batchnorm(segmentors_of(model), batches, predicting_forward)
    meta = torch.load(args.checkpoint, map_location='cpu', weights_only=False).get('meta', {})
    meta['recalibrated_bn'] = dict(img_dir=args.img_dir, images=len(dataset), batches=count)
    with atomic_write(args.out, 'wb') as f:
        torch.save({'state_dict': model.state_dict(), 'meta': meta}, f)
    print(f'{args.out}: BatchNorm statistics of {len(dataset)} images of {args.img_dir} '
          f'({count} batches)')


if __name__ == '__main__':
    main()
