"""Profile where one training step's time goes, by part of the model.

Builds CONFIG's model, data loader and optimizer through mmengine's Runner (as
tools/train.py does; a temporary work_dir, no validation, no checkpoints),
trains ``--warmup`` steps, then ``--steps`` steps under torch.profiler (CPU
activities) and prints each group's mean ms per step and % of the step::

    python tools/profile_step.py configs/contrast/deeplabv3plus_r18-d16_1k_toyscenes-128x128.py \
        --steps 3 --warmup 1 --json profile.json

A step runs from fetching its batch to the end of its last hook. Before
training, the tool wraps methods in ``record_function`` scopes named after
their group, so the package needs no profiler calls:

* ``backbone``, ``decode head``, ``aux/contrast head`` (``auxiliary_head``
  and its list items, a segmentor's ``contrast_loss``, a pretrainer's
  projection ``neck``): ``forward``, ``loss`` and ``loss_by_feat`` of the
  modules of that name, the head's loss included. RPL's residual block,
  inlier and outlier losses and ``forward_pair`` (closed-set and residual
  decoding) are decode head; its CoroCL projection and loss are
  aux/contrast head.
* ``teacher``: every module under ``teacher`` or ``momentum_encoder`` (the
  first of these names in a module's path decides, so the teacher's
  backbone is the teacher), ``update_teacher``, ``update_momentum_encoder``,
  ``momentum_encode`` and the averaged models' ``update_parameters``.
* ``memory bank``: ``update_memory`` of any module; ``push`` and ``update``
  of the queues, memory banks, class statistics and prototypes.
* ``pseudo-labels``: the semi-supervised and UDA segmentors' pseudo-label
  selection and their losses on unlabelled views (``pseudo_targets``,
  ``strong_targets``, ``css_targets``, ``pseudo_labels``, ``strong_losses``,
  ``perturbation_losses``, ``mixed_loss``), minus the forward passes inside.
* ``data loading``: the loop's next batch, the model's data_preprocessor and
  batch augmentation inside the step (SePiCo's ``augment``).
* ``optimizer step``: the optim wrapper's ``step`` and ``zero_grad``.

The backward of each autograd function goes to the group whose scope was
innermost when its forward op ran (matched by the profiler's sequence
numbers). Nesting is resolved by the innermost scope: a group's time
excludes the scopes and backward functions inside it (a memory update inside
a contrast head is memory bank time), and what lies in a step but in no
group is ``other`` (summing the losses, hooks, logging, the backward of ops
outside every group, e.g. a pretrainer's loss computed in its own ``loss``).

Schedules counted in iterations (``contrast_start_iter``, a contrast head's
``start_iter``) apply as in training: set them with ``--cfg-options`` to
profile the steady state.
"""
import argparse
import collections
import functools
import json
import os.path as osp
import sys
import tempfile
import typing

from mmengine.config import DictAction
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmengine.runner import Runner
from torch.profiler import ProfilerActivity, profile, record_function

import densecl  # noqa: F401  (registers datasets and models)
from densecl.engine import atomic_write, check_output, resolve_pretrained, load_config
from densecl.engine.benchmark import environment
from densecl.models.utils import ClassMemoryBank, ClassPrototypes, ClassStatistics, KeyQueue

BACKBONE, DECODE, AUX = 'backbone', 'decode head', 'aux/contrast head'
MEMORY, TEACHER, DATA = 'memory bank', 'teacher', 'data loading'
PSEUDO, OPTIMIZER, OTHER = 'pseudo-labels', 'optimizer step', 'other'
GROUPS = (BACKBONE, DECODE, AUX, MEMORY, TEACHER, PSEUDO, DATA, OPTIMIZER, OTHER)
STEP = 'step'   # the scope of a whole step: its own time is OTHER
SCOPE_PREFIX = 'profile_step: '
BACKWARD_PREFIX = 'autograd::engine::evaluate_function: '

# Module names whose forward, loss and loss_by_feat are scoped; the first of
# them in a module's path gives its group.
MODULE_GROUPS = {
    'teacher': TEACHER, 'momentum_encoder': TEACHER, 'backbone': BACKBONE,
    'decode_head': DECODE, 'residual_block': DECODE, 'loss_inlier': DECODE,
    'loss_outlier': DECODE, 'auxiliary_head': AUX, 'contrast_loss': AUX, 'neck': AUX,
    'corocl_projection': AUX, 'loss_corocl': AUX, 'data_preprocessor': DATA,
}
MODULE_METHODS = ('forward', 'loss', 'loss_by_feat')
# Methods scoped on any module that has them.
METHOD_GROUPS = {
    'update_teacher': TEACHER, 'update_momentum_encoder': TEACHER,
    'momentum_encode': TEACHER, 'update_parameters': TEACHER, 'update_memory': MEMORY,
    'forward_pair': DECODE, 'augment': DATA,
    **dict.fromkeys(('pseudo_targets', 'strong_targets', 'css_targets', 'pseudo_labels',
                     'strong_losses', 'perturbation_losses', 'mixed_loss'), PSEUDO),
}
MEMORY_TYPES = (ClassMemoryBank, ClassPrototypes, ClassStatistics, KeyQueue)
MEMORY_METHODS = ('push', 'update')


class Event(typing.NamedTuple):
    """The fields of a profiler event the grouping reads (times in us)."""
    name: str
    start: float
    end: float
    thread: int
    sequence_nr: int = -1
    fwd_thread: int = 0


class Span(typing.NamedTuple):
    """A time interval (us) attributed to a group (or STEP)."""
    group: str
    start: float
    end: float


# ------------------------------------------------------------------ scopes


def scoped(fn, group):
    """``fn`` inside a ``record_function`` scope of ``group``."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with record_function(SCOPE_PREFIX + group):
            return fn(*args, **kwargs)
    return run


def scope_methods(obj, names, group):
    """Replace each method of ``obj`` in ``names`` by its scoped version."""
    for name in names:
        if callable(getattr(type(obj), name, None)):
            setattr(obj, name, scoped(getattr(obj, name), group))


def module_group(name):
    """The group of the module at path ``name``: its first component in MODULE_GROUPS."""
    return next((MODULE_GROUPS[part] for part in name.split('.') if part in MODULE_GROUPS),
                None)


def scope_model(model):
    """Scope the named submodules (and list items of named lists) and methods of ``model``."""
    model = model.module if is_model_wrapper(model) else model
    for name, module in model.named_modules():
        parts = name.split('.')
        named = parts[-1] in MODULE_GROUPS or (
            len(parts) > 1 and parts[-2] in MODULE_GROUPS and parts[-1].isdigit())
        if named:
            scope_methods(module, MODULE_METHODS, module_group(name))
        for method, group in METHOD_GROUPS.items():
            scope_methods(module, [method], group)
        if isinstance(module, MEMORY_TYPES):
            scope_methods(module, MEMORY_METHODS, MEMORY)


def scope_optimizer(optim_wrapper):
    """Scope ``step`` and ``zero_grad`` of each optim wrapper."""
    wrappers = (optim_wrapper.optim_wrappers.values()
                if isinstance(optim_wrapper, OptimWrapperDict) else [optim_wrapper])
    for wrapper in wrappers:
        scope_methods(wrapper, ('step', 'zero_grad'), OPTIMIZER)


class ScopedBatches:
    """The train loop's batch iterator: ``before_next()``, then the batch in a data scope."""

    def __init__(self, batches, before_next):
        self.batches, self.before_next = batches, before_next

    def __iter__(self):
        return self

    def __next__(self):
        self.before_next()
        with record_function(SCOPE_PREFIX + DATA):
            return next(self.batches)

    def __getattr__(self, name):   # e.g. skip_iter
        return getattr(self.batches, name)


class StepProfiler(Hook):
    """Profile iterations ``warmup`` .. ``warmup + steps - 1``, each in a STEP scope that
    opens before its batch is fetched and closes after every other hook."""
    priority = 'LOWEST'

    def __init__(self, warmup, steps):
        self.first, self.last = warmup, warmup + steps - 1
        self.profiler = profile(activities=[ProfilerActivity.CPU])
        self.step_scope = None

    def before_train(self, runner):
        scope_model(runner.model)
        scope_optimizer(runner.optim_wrapper)
        loop = runner.train_loop
        loop.dataloader_iterator = ScopedBatches(loop.dataloader_iterator,
                                                 lambda: self.begin_step(loop.iter))

    def begin_step(self, iteration):
        if iteration == self.first:
            self.profiler.start()
        if self.first <= iteration <= self.last:
            self.step_scope = record_function(SCOPE_PREFIX + STEP).__enter__()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.step_scope is not None:
            self.step_scope.__exit__(None, None, None)
            self.step_scope = None
        if batch_idx == self.last:
            self.profiler.stop()

    def events(self):
        return [Event(e.name, e.time_range.start, e.time_range.end, e.thread, e.sequence_nr,
                      e.fwd_thread) for e in self.profiler.events()]


# ---------------------------------------------------------------- grouping


def group_spans(events):
    """The spans of the tool's scopes, and of each backward function in the group that was
    innermost when its forward op ran (OTHER when that was only a STEP); backward functions
    without one are left out (their time stays with the scope around them)."""
    scopes = [Span(e.name[len(SCOPE_PREFIX):], e.start, e.end) for e in events
              if e.name.startswith(SCOPE_PREFIX)]
    threads = {e.thread for e in events if e.name.startswith(SCOPE_PREFIX)}
    forward = [e for e in events if e.sequence_nr >= 0 and e.thread in threads
               and not e.name.startswith(BACKWARD_PREFIX)]
    items = sorted([(s.start, 0, -s.end, s) for s in scopes] +
                   [(e.start, 1, -e.end, e) for e in forward], key=lambda item: item[:3])
    forward_group, open_scopes = {}, []
    for _, is_op, _, item in items:
        while open_scopes and open_scopes[-1].end <= item.start:
            open_scopes.pop()
        if not is_op:
            open_scopes.append(item)
        elif open_scopes:
            group = open_scopes[-1].group
            forward_group.setdefault((item.thread, item.sequence_nr),
                                     OTHER if group == STEP else group)
    backward = [Span(forward_group[(e.fwd_thread, e.sequence_nr)], e.start, e.end)
                for e in events if e.name.startswith(BACKWARD_PREFIX)
                and (e.fwd_thread, e.sequence_nr) in forward_group]
    return scopes + backward


def exclusive_times(spans):
    """{group: us} where each instant counts for the innermost span open then; a STEP
    span's own time is OTHER."""
    totals, open_spans = collections.defaultdict(float), []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        while open_spans and open_spans[-1].end <= span.start:
            open_spans.pop()
        totals[span.group] += span.end - span.start
        if open_spans:
            parent = open_spans[-1]
            totals[parent.group] -= min(span.end, parent.end) - span.start
        open_spans.append(span)
    totals[OTHER] += totals.pop(STEP, 0.0)
    return dict(totals)


def summarize(spans, steps):
    """Mean step ms and, per group present (in GROUPS order), its ms per step and % of the
    step time."""
    step_us = sum(s.end - s.start for s in spans if s.group == STEP)
    if steps < 1 or step_us <= 0:
        raise ValueError(f'no profiled step among the spans (steps={steps})')
    totals = exclusive_times(spans)
    groups = {group: dict(ms=totals[group] / steps / 1e3, percent=100 * totals[group] / step_us)
              for group in GROUPS if group in totals}
    return step_us / steps / 1e3, groups


def format_table(step_ms, groups):
    rows = [('group', 'ms/step', '% of step')]
    rows += [(group, f"{g['ms']:.1f}", f"{g['percent']:.1f}") for group, g in groups.items()]
    rows.append(('step', f'{step_ms:.1f}', '100.0'))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ['  '.join([row[0].ljust(widths[0])] +
                       [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])])
             for row in rows]
    lines.insert(1, '-' * len(lines[0]))
    lines.insert(len(lines) - 1, '-' * len(lines[0]))
    return '\n'.join(lines)


# -------------------------------------------------------------------- main


def profiling_config(path, cfg_options, warmup, steps, work_dir):
    """CONFIG with the overrides, ``warmup + steps`` iterations, no validation or
    checkpoints, and ``work_dir``."""
    cfg = load_config(path, cfg_options, work_dir)
    resolve_pretrained(cfg)
    if 'max_iters' not in cfg.train_cfg:
        raise ValueError(f'{path}: profile_step needs an iteration-based train_cfg '
                         f'(max_iters), got {dict(cfg.train_cfg)}')
    cfg.train_cfg.max_iters = warmup + steps
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    cfg.default_hooks.checkpoint = None
    cfg.log_level = 'WARNING'
    # mmengine keeps loggers and visualizers by name: a later run in the same process
    # must not write into this run's (deleted) work_dir
    cfg.experiment_name = osp.basename(work_dir)
    if cfg.get('visualizer'):
        cfg.visualizer.name = osp.basename(work_dir)
    return cfg


def profile_step(path, cfg_options=None, warmup=1, steps=3):
    """Train CONFIG ``warmup + steps`` iterations, profiling the last ``steps``; returns
    (mean step ms, {group: {ms, percent}})."""
    with tempfile.TemporaryDirectory(prefix='profile_step_') as work_dir:
        cfg = profiling_config(path, cfg_options, warmup, steps, work_dir)
        runner = Runner.from_cfg(cfg)
        profiler = StepProfiler(warmup, steps)
        runner.register_hook(profiler)
        runner.train()
    return summarize(group_spans(profiler.events()), steps)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--steps', type=int, default=3, help='profiled training steps')
    parser.add_argument('--warmup', type=int, default=1,
                        help='training steps run before profiling')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_dataloader.batch_size=2')
    parser.add_argument('--json', help='also write the result here')
    parser.add_argument('--force', action='store_true', help='overwrite an existing --json file')
    args = parser.parse_args(argv)
    if not osp.isfile(args.config):
        parser.error(f'config {args.config} does not exist')
    if args.steps < 1:
        parser.error(f'--steps must be at least 1, got {args.steps}')
    if args.warmup < 0:
        parser.error(f'--warmup must be at least 0, got {args.warmup}')
    if args.json:
        try:
            check_output(args.json, [args.config], args.force, what='--json')
        except (OSError, ValueError) as exc:
            parser.error(str(exc))
    return args


def main(argv=None):
    args = parse_args(argv)
    step_ms, groups = profile_step(args.config, args.cfg_options, args.warmup, args.steps)
    print(f'{args.config}: {args.steps} step(s) after {args.warmup} warm-up step(s)')
    print(format_table(step_ms, groups))
    if args.json:
        with atomic_write(args.json) as f:
            json.dump(dict(environment(), config=args.config, cfg_options=args.cfg_options,
                           warmup=args.warmup, steps=args.steps, step_ms=step_ms,
                           groups=groups), f, indent=1)
            f.write('\n')
        print(f'wrote {args.json}', file=sys.stderr)


if __name__ == '__main__':
    main()
