"""Pretrain a ResNet V1c backbone by classification on procedural ImageNet.

The stand-in for the ImageNet-pretrained backbones that papers start from:
mmseg's ``ResNetV1c`` (the toyscenes segmenters' settings, output stride 16)
with global average pooling and a linear head, trained with AdamW (or SGD with
Nesterov momentum; linear warm-up, cosine decay) on fresh samples of
:mod:`densecl.datasets.procedural_imagenet` (random resized crops and flips).
The default schedule (1500 iterations of 64 images at 64 x 64) takes about
28 min on one busy CPU core.

The output holds the backbone in the format of ``tools/extract_backbone.py``,
``{'state_dict': {'backbone.<name>': tensor}, 'meta': ...}``; a JSON beside it
records the settings, held-out top-1 accuracy, wall time and versions. A
segmenter config loads it with::

    model = dict(backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint='OUT.pth', prefix='backbone.')))

Batch ``t`` holds train samples ``t * batch_size`` onwards and is augmented
under a seed of ``(seed, t)``, so a rerun with the same seed repeats the run;
the model and optimizer are saved to ``WORK_DIR/last.pth`` every
``--checkpoint-interval`` iterations, and an interrupted run, started again
with the same arguments, resumes from there to the same result.

Example::

    python tools/pretrain_backbone.py --out data/pretrained/resnet18_v1c_procedural.pth
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
import time

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from torch import nn

from densecl.compat import safe_load_checkpoint
from densecl.datasets.procedural_imagenet import ProceduralImageNet
from densecl.datasets.seeding import derive_seed
from densecl.engine import atomic_write, backbone_state_dict, check_output
from densecl.engine.benchmark import environment

# The normalisation of the toyscenes segmenters' data preprocessor (RGB).
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)
FEATURE_CHANNELS = {18: 512, 50: 2048}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', help='output checkpoint (default data/pretrained/'
                        'resnet<depth>_v1c_procedural.pth); the JSON goes beside it')
    parser.add_argument('--depth', type=int, choices=sorted(FEATURE_CHANNELS), default=18)
    parser.add_argument('--iters', type=int, default=1500, help='training iterations')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--optimizer', choices=('sgd', 'adamw'), default='adamw')
    parser.add_argument('--lr', type=float, default=2e-3, help='peak learning rate')
    parser.add_argument('--weight-decay', type=float, default=0.05)
    parser.add_argument('--warmup-iters', type=int, default=50)
    parser.add_argument('--size', type=int, default=64, help='image side in pixels')
    parser.add_argument('--num-val', type=int, default=2000, help='held-out images for top-1')
    parser.add_argument('--seed', type=int, default=0, help='data, initialisation and '
                        'augmentation seed')
    parser.add_argument('--val-interval', type=int, default=0, help='also report top-1 every '
                        'N iterations (0: at the end only)')
    parser.add_argument('--checkpoint-interval', type=int, default=100,
                        help='save WORK_DIR/last.pth every N iterations, for resuming')
    parser.add_argument('--work-dir', help='folder of the resume checkpoint (default '
                        'work_dirs/pretrain_backbone/<name of --out>)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--force', action='store_true', help='overwrite an existing output')
    args = parser.parse_args(argv)
    args.out = args.out or f'data/pretrained/resnet{args.depth}_v1c_procedural.pth'
    args.work_dir = args.work_dir or osp.join(
        'work_dirs', 'pretrain_backbone', osp.splitext(osp.basename(args.out))[0])
    return args


class Classifier(nn.Module):
    """An mmseg ResNet V1c backbone, global average pooling and a linear head."""

    def __init__(self, depth, num_classes):
        super().__init__()
        self.backbone = MODELS.build(dict(
            type='ResNetV1c',
            depth=depth,
            num_stages=4,
            out_indices=(3, ),
            dilations=(1, 1, 1, 2),
            strides=(1, 2, 2, 1),
            norm_cfg=dict(type='BN', requires_grad=True),
            norm_eval=False,
            style='pytorch',
            contract_dilation=True))
        self.backbone.init_weights()
        self.head = nn.Linear(FEATURE_CHANNELS[depth], num_classes)

    def forward(self, images):
        return self.head(self.backbone(images)[-1].mean((2, 3)))


def normalize(images):
    mean = images.new_tensor(MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(STD).view(1, 3, 1, 1)
    return (images.float() - mean) / std


def random_resized_crop_flip(images, generator, scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3)):
    """Crop a random box (area fraction in ``scale``, aspect in ``ratio``) of
    each image, resize it to the full side and flip it horizontally with
    probability 0.5, in one batched resampling."""
    n = images.shape[0]
    rand = torch.rand(n, 5, generator=generator)
    area = scale[0] + rand[:, 0] * (scale[1] - scale[0])
    aspect = torch.exp(math.log(ratio[0]) + rand[:, 1] * math.log(ratio[1] / ratio[0]))
    width = torch.sqrt(area * aspect).clamp(max=1)
    height = torch.sqrt(area / aspect).clamp(max=1)
    flip = torch.where(rand[:, 4] < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = width * flip
    theta[:, 0, 2] = (1 - width) * (2 * rand[:, 2] - 1)
    theta[:, 1, 1] = height
    theta[:, 1, 2] = (1 - height) * (2 * rand[:, 3] - 1)
    grid = F.affine_grid(theta.to(images.device), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode='bilinear', padding_mode='border', align_corners=False)


def build_optimizer(model, args):
    if args.optimizer == 'sgd':
        return torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                               weight_decay=args.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)


def learning_rate(args, iteration):
    """Linear warm-up to ``args.lr``, then cosine decay to zero."""
    if iteration < args.warmup_iters:
        return args.lr * (iteration + 1) / args.warmup_iters
    progress = (iteration - args.warmup_iters) / max(1, args.iters - args.warmup_iters)
    return 0.5 * args.lr * (1 + math.cos(math.pi * progress))


def train_batch(dataset, args, iteration):
    """Normalised, augmented images and labels of batch ``iteration``."""
    first = iteration * args.batch_size
    images, labels = zip(*(dataset[first + j] for j in range(args.batch_size)))
    generator = torch.Generator().manual_seed(derive_seed(args.seed, iteration))
    images = random_resized_crop_flip(normalize(torch.stack(images)), generator)
    return images.to(args.device), torch.tensor(labels, device=args.device)


def train_step(model, optimizer, images, labels):
    loss = F.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


@torch.no_grad()
def top1_accuracy(model, val_images, val_labels, device, batch_size=250):
    """Top-1 accuracy (%) of ``model`` on the held-out images."""
    model.eval()
    correct = 0
    for i in range(0, len(val_labels), batch_size):
        logits = model(normalize(val_images[i:i + batch_size]).to(device))
        correct += (logits.argmax(1).cpu() == val_labels[i:i + batch_size]).sum().item()
    model.train()
    return 100 * correct / len(val_labels)


def settings_of(args):
    """What the result depends on (stored in the JSON and the resume checkpoint)."""
    return {key: getattr(args, key) for key in (
        'depth', 'iters', 'batch_size', 'optimizer', 'lr', 'weight_decay', 'warmup_iters', 'size',
        'num_val', 'seed')}


def resume(path, settings, model, optimizer, logger):
    """Load ``path`` if it exists; return (first iteration, wall seconds spent so far)."""
    if not osp.isfile(path):
        return 0, 0.0
    state = safe_load_checkpoint(path, map_location='cpu')
    if state['settings'] != settings:
        raise ValueError(f'{path} is a run with other settings ({state["settings"]}); remove it '
                         'or choose another --work-dir')
    model.load_state_dict(state['model'])
    optimizer.load_state_dict(state['optimizer'])
    logger.info(f'resumed from {path} at iteration {state["iteration"]}')
    return state['iteration'], state['wall_time_s']


def save_resume_checkpoint(path, settings, model, optimizer, iteration, wall_time):
    with atomic_write(path, 'wb') as f:
        torch.save({'settings': settings, 'model': model.state_dict(),
                    'optimizer': optimizer.state_dict(), 'iteration': iteration,
                    'wall_time_s': wall_time}, f)


def write_outputs(args, json_path, model, accuracy, wall_time):
    """Write the backbone checkpoint and the JSON record beside it."""
    settings = settings_of(args)
    state = backbone_state_dict(model.state_dict(), 'the classifier')
    meta = dict(settings, dataset='procedural_imagenet', top1=accuracy)
    with atomic_write(args.out, 'wb') as f:
        torch.save({'state_dict': {k: v.cpu() for k, v in state.items()}, 'meta': meta}, f)
    record = dict(settings=settings, top1_accuracy=accuracy, wall_time_s=round(wall_time, 1),
                  checkpoint=args.out, device=args.device, torch_threads=torch.get_num_threads(),
                  **environment())
    with atomic_write(json_path) as f:
        json.dump(record, f, indent=2)
        f.write('\n')


def main(argv=None):
    args = parse_args(argv)
    json_path = osp.splitext(args.out)[0] + '.json'
    try:
        check_output(args.out, force=args.force)
        check_output(json_path, force=args.force)
    except (FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    init_default_scope('mmseg')
    os.makedirs(args.work_dir, exist_ok=True)
    logger = MMLogger.get_instance(  # also holds the backbone's initialisation report
        f'pretrain_backbone:{osp.abspath(args.work_dir)}',
        log_file=osp.join(args.work_dir, 'pretrain_backbone.log'), file_mode='a')
    settings = settings_of(args)
    train_set = ProceduralImageNet('train', args.iters * args.batch_size, args.seed, args.size)
    val_set = ProceduralImageNet('val', args.num_val, args.seed, args.size)
    val_images, val_labels = zip(*val_set)
    val_images, val_labels = torch.stack(val_images), torch.tensor(val_labels)

    torch.manual_seed(args.seed)
    model = Classifier(args.depth, len(ProceduralImageNet.CLASSES)).to(args.device)
    optimizer = build_optimizer(model, args)
    resume_path = osp.join(args.work_dir, 'last.pth')
    try:
        first, spent = resume(resume_path, settings, model, optimizer, logger)
    except ValueError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    start = time.perf_counter() - spent
    for iteration in range(first, args.iters):
        for group in optimizer.param_groups:
            group['lr'] = learning_rate(args, iteration)
        loss = train_step(model, optimizer, *train_batch(train_set, args, iteration))
        done = iteration + 1
        if done % 20 == 0 or done == args.iters:
            logger.info(f'iter {done}/{args.iters} loss {loss:.4f} '
                        f'lr {learning_rate(args, iteration):.4g} '
                        f'time {time.perf_counter() - start:.0f} s')
        if args.val_interval and done % args.val_interval == 0 and done < args.iters:
            accuracy = top1_accuracy(model, val_images, val_labels, args.device)
            logger.info(f'iter {done}: val top-1 {accuracy:.2f}%')
        if done % args.checkpoint_interval == 0 and done < args.iters:
            save_resume_checkpoint(resume_path, settings, model, optimizer, done,
                                   time.perf_counter() - start)
    accuracy = top1_accuracy(model, val_images, val_labels, args.device)
    wall_time = time.perf_counter() - start
    logger.info(f'procedural imagenet val top-1 accuracy: {accuracy:.2f}% ({args.num_val} '
                f'held-out images, {args.iters} iterations, {wall_time:.0f} s)')

    write_outputs(args, json_path, model, accuracy, wall_time)
    if osp.isfile(resume_path):
        os.remove(resume_path)
    logger.info(f'backbone written to {args.out}, results to {json_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
