"""Report the dense alignment and uniformity of a backbone's features on two-view pairs.

Builds the model and the two-view data of a pretraining config, loads the
backbone weights of CHECKPOINT (a pretraining checkpoint or the output of
tools/extract_backbone.py; without it, the random initialisation), and
measures on the last backbone map, in eval mode, over --batches batches:
alignment = E ||f_i - f'_j||^2 over positive pixel pairs (same place of the
image, from the crop geometry) and uniformity = log E exp(-2 ||f_i - f_j||^2)
over all pixels (Wang and Isola, ICML 2020); lower is better for both.
The config's model must be a two-view pretrainer (DenseCL, PixPro: the
configs in configs/densecl and configs/pixpro), whose data gives the crop
geometry of both views.

Example::

    python tools/analyze_dense_features.py configs/pixpro/pixpro_r18-d16_300_toyscenes-64x64.py \
        --checkpoint work_dirs/pixpro_r18-d16_300_toyscenes-64x64/iter_300.pth
"""
import argparse
import itertools
import json
import pickle
import sys

import torch
from mmengine.config import DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import MODELS

import densecl  # noqa: F401  (registers datasets and models)
from densecl.compat import safe_load_checkpoint
from densecl.engine import backbone_state_dict, load_config, state_dict_mismatch
from densecl.evaluation import dense_alignment, dense_uniformity
from densecl.models.selfsup import BaseMomentumPretrainer
from densecl.models.utils import view_positive_pairs


def int_in_range(low, high=None):
    """argparse type: an integer in [low, high] (no upper bound without ``high``)."""
    allowed = f'>= {low}' if high is None else f'in [{low}, {high}]'

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f'must be an integer {allowed}, got {text!r}')
        return value

    return parse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='pretraining config (model and two-view data)')
    parser.add_argument('--checkpoint', help='backbone weights; default: random init')
    parser.add_argument('--batches', type=int_in_range(1), default=4,
                        help='batches of view pairs (>= 1)')
    # numpy seeds the dataloader workers: 0 .. 2**32 - 1.
    parser.add_argument('--seed', type=int_in_range(0, 2**32 - 1), default=0,
                        help='seed of the views')
    parser.add_argument('--json', help='also write the result to this file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_dataloader.batch_size=8')
    return parser.parse_args(argv)


def check_pretrainer(cfg, config):
    """Refuse a config whose model is not a two-view pretrainer, naming those accepted.

    Only these models see two views of each image with their crop geometry;
    a segmenter's config fails deep inside mmseg instead.
    """
    model_type = cfg.model.type
    model_class = model_type if isinstance(model_type, type) else MODELS.get(model_type)
    if not (isinstance(model_class, type) and issubclass(model_class, BaseMomentumPretrainer)):
        accepted = ', '.join(
            sorted(cls.__name__ for cls in BaseMomentumPretrainer.__subclasses__()))
        name = getattr(model_type, '__name__', model_type)
        raise ValueError(f'{config}: its model is {name}; this tool measures two-view '
                         f'pretraining models only ({accepted}: the configs in configs/densecl '
                         'and configs/pixpro)')


def load_backbone(model, checkpoint):
    """Load the ``backbone.*`` weights of ``checkpoint`` into ``model``, all or nothing."""
    state = backbone_state_dict(safe_load_checkpoint(checkpoint, map_location='cpu'),
                                checkpoint)
    expected = {key: value for key, value in model.state_dict().items()
                if key.startswith('backbone.')}
    missing, unexpected, reshaped = state_dict_mismatch(expected, state)
    if missing or unexpected or reshaped:
        raise ValueError(f'{checkpoint} does not fit the backbone of the config: missing '
                         f'{missing[:5]}, unexpected {unexpected[:5]}, reshaped {reshaped[:5]}')
    model.load_state_dict(state, strict=False)


@torch.no_grad()
def measure(model, dataloader, batches, threshold):
    """Alignment and uniformity averaged over the first ``batches`` batches, and how
    many there were (fewer when a finite sampler runs out)."""
    model.eval()
    totals = {'alignment': 0., 'uniformity': 0.}
    measured = 0
    for data in itertools.islice(dataloader, batches):
        measured += 1
        data = model.data_preprocessor(data, False)
        maps = [model.extract_feat(view)[-1] for view in data['inputs']]
        positive = view_positive_pairs(data['data_samples'], maps[0].shape[2:],
                                       maps[1].shape[2:], threshold)
        totals['alignment'] += float(dense_alignment(maps[0], maps[1], positive))
        totals['uniformity'] += float(dense_uniformity(torch.cat(maps)))
    if not measured:
        raise ValueError('the dataloader gave no batch: is the dataset empty?')
    return {name: value / measured for name, value in totals.items()}, measured


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.default_scope)
    torch.manual_seed(args.seed)
    try:
        check_pretrainer(cfg, args.config)
        model = MODELS.build(cfg.model)
        model.init_weights()
        if args.checkpoint:
            load_backbone(model, args.checkpoint)
    except (ValueError, FileNotFoundError, pickle.UnpicklingError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    cfg.train_dataloader.sampler.seed = args.seed
    dataloader = Runner.build_dataloader(cfg.train_dataloader, seed=args.seed)
    result, batches = measure(model, dataloader, args.batches,
                              getattr(model, 'pos_threshold', 0.7))
    if batches < args.batches:
        print(f'note: the data gave {batches} of the {args.batches} batches asked for')
    result.update(checkpoint=args.checkpoint, batches=batches)
    print(f'alignment: {result["alignment"]:.4f}  uniformity: {result["uniformity"]:.4f}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
