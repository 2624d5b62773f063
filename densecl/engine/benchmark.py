"""Method benchmarks: train through tools/train.py, collect metrics, keep results resumable.

Every ``tools/benchmark_<family>.py`` runs its trainings as subprocesses of
the user-facing ``tools/train.py`` (what is benchmarked is what users run),
stores each finished run in one JSON file as it completes (a rerun skips
it), and reports mean and spread over seeds with step time and peak memory
relative to a baseline row of the same run. A stored run is keyed by what
changes its result: the data (root and a hash of every file under it) and the
settings for the whole file, the resolved config with its ``--cfg-options``
(and the runs it starts from) for each run; a run whose key no longer matches
is trained again, never reported.
"""
import datetime
import hashlib
import json
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata

from .outputs import atomic_write, check_output
from .pretrained import MAKE_PRETRAINED, init_options

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PRETRAINED_BACKBONE = 'data/pretrained/resnet18_v1c_procedural.pth'


def environment():
    """Machine and versions stored with the results."""
    versions = {}
    for name in ('torch', 'mmengine', 'onedl-mmengine', 'mmsegmentation',
                 'onedl-mmsegmentation', 'mmcv', 'onedl-mmcv'):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return {
        'machine': platform.machine(),
        'cpu_count': os.cpu_count(),
        'python': platform.python_version(),
        'versions': versions,
        'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'command': ' '.join([osp.basename(sys.argv[0])] + sys.argv[1:]),
    }


def _last_scalars(work_dir):
    """The records of the newest run's ``vis_data/scalars.json`` in ``work_dir``."""
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, 'vis_data', 'scalars.json')))
    if not runs:
        raise RuntimeError(f'no vis_data/scalars.json under {work_dir}: did training log?')
    with open(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')) as f:
        return [json.loads(line) for line in f if line.strip()]


def _run_tool(tool, args, work_dir, cfg_options, log):
    """Run ``tools/<tool>.py args --cfg-options ...``, its output logged in ``work_dir``
    unless ``log`` is given; (wall s, rusage).

    Raises:
        RuntimeError: when the tool fails, with the tail of its output.
    """
    command = [sys.executable, osp.join(ROOT, 'tools', f'{tool}.py'), *args]
    if cfg_options:
        command += ['--cfg-options'] + [f'{key}={value}' for key, value in cfg_options.items()]
    os.makedirs(work_dir, exist_ok=True)
    log_path = log or osp.join(work_dir, f'benchmark_{tool}.log')
    start = time.time()
    with open(log_path, 'w') as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        # wait4 gives the resource usage of this child alone.
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.time() - start
    if os.waitstatus_to_exitcode(status) != 0:
        with open(log_path) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'{tool} failed ({" ".join(command)}):\n{tail}')
    return wall, usage


def add_schedule_arguments(parser, readme, iters):
    """--iters, --crop and --lr of the teacher-student benchmarks (semi-supervised, SePiCo):
    one short schedule for every row, long enough to leave the background/sky plateau."""
    parser.add_argument('--iters', type=int, default=iters,
                        help=f'training iterations per run (budget: {readme})')
    parser.add_argument('--crop', type=int, default=128, help='training crop side (pixels)')
    parser.add_argument('--lr', type=float, default=0.003,
                        help="every row's AdamW peak learning rate (the configs' 0.001 suits 1k "
                        'iterations; at a few hundred it stays on the background/sky plateau)')


def add_init_arguments(parser):
    """--init and --pretrained: where every row's backbone starts."""
    parser.add_argument('--init', choices=('pretrained', 'scratch'), default='pretrained',
                        help="every row's backbone start: the procedural-ImageNet ResNet-18 V1c "
                        "of --pretrained (as the papers start from ImageNet) or random weights; "
                        'each keeps its own JSON (default: <name>_pretrained.json / <name>.json)')
    parser.add_argument('--pretrained', default=PRETRAINED_BACKBONE,
                        help=f'backbone checkpoint of --init pretrained (`{MAKE_PRETRAINED}`)')


def init_json(path, init):
    """The results file of ``init``: ``path`` (the from-scratch tables) for scratch, the same
    name with ``_pretrained`` for pretrained."""
    stem, ext = osp.splitext(path)
    return path if init == 'scratch' else f'{stem}_pretrained{ext}'


def init_settings(args):
    """The JSON settings entry of --init: the backbone file and its sha256 (runs made from
    another file are refused).

    Raises:
        FileNotFoundError: the backbone of --init pretrained is missing (before any training).
    """
    if args.init == 'scratch':
        return {'init': 'scratch'}
    if not osp.isfile(args.pretrained):
        raise FileNotFoundError(f'--pretrained {args.pretrained} does not exist: run '
                                f'`{MAKE_PRETRAINED}`, or pass --init scratch')
    with open(args.pretrained, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {'init': 'pretrained', 'pretrained': {'path': args.pretrained, 'sha256': digest}}


def init_cfg_options(config, args):
    """--cfg-options that start ``config``'s pretrained backbone as --init says."""
    from mmengine.config import Config
    return init_options(Config.fromfile(osp.join(ROOT, config)), args.init, args.pretrained)


def schedule_options(iters, lr=None, validate=True, log_windows=8):
    """--cfg-options that shorten a config's schedule to ``iters``: the poly decay ends there,
    one checkpoint (and one validation unless ``validate`` is false) at the end, about
    ``log_windows`` logged windows; ``lr`` overrides the optimizer's peak learning rate."""
    options = {'train_cfg.max_iters': iters,
               'param_scheduler.0.end': iters,
               'default_hooks.checkpoint.interval': iters,
               'default_hooks.logger.interval': max(1, min(50, iters // log_windows))}
    if validate:
        options['train_cfg.val_interval'] = iters
    if lr is not None:
        options['optim_wrapper.optimizer.lr'] = lr
    return options


def split_file(split):
    """The toyscenes ``ann_file`` of a label split: ``''`` (every train image) for ``'full'``,
    the nested list ``splits/train_1-N.txt`` of ``make_synthetic.py`` for ``'1/N'``."""
    if split == 'full':
        return ''
    return f'splits/train_1-{split.split("/")[1]}.txt'


def quick_options(quick, loaders=('train_dataloader', 'val_dataloader'), two_streams=False):
    """--cfg-options of a ``--quick`` run (none otherwise): ``loaders`` load in-process and a
    training step takes 2 images, or 2 labelled + 2 other through the semi-supervised
    sampler when the training set has ``two_streams`` (semi-supervised, SePiCo)."""
    if not quick:
        return {}
    options = {}
    for loader in loaders:
        options.update({f'{loader}.num_workers': 0, f'{loader}.persistent_workers': False})
    if 'train_dataloader' in loaders:
        options['train_dataloader.batch_size'] = 4 if two_streams else 2
    if two_streams:
        options.update({'train_dataloader.sampler.batch_size': 4,
                        'train_dataloader.sampler.num_labeled': 2})
    return options


def train(config, work_dir, cfg_options, log=None):
    """Run ``tools/train.py config`` and return its costs and logged records.

    Returns ``(costs, records)``: the median logged step time (s, first
    logged window left out as warm-up), the process's peak resident memory
    (MiB) and the wall time (s); and the records of its scalars.json.

    Raises:
        RuntimeError: when training fails, with the tail of its output.
    """
    wall, usage = _run_tool('train', [config, '--work-dir', work_dir], work_dir, cfg_options,
                            log)
    records = _last_scalars(work_dir)
    step_times = [r['time'] for r in records if 'time' in r and 'loss' in r]
    costs = {
        'step_time_s': statistics.median(step_times[1:] or step_times),
        'peak_rss_mib': usage.ru_maxrss / 1024,
        'wall_s': wall,
    }
    return costs, records


def train_and_evaluate(config, work_dir, cfg_options, metrics=('mIoU', ), log=None):
    """Run ``tools/train.py config`` and return its final metrics and costs.

    Returns a dict with each of ``metrics`` from the last validation and the
    costs of :func:`train`.

    Raises:
        RuntimeError: when training fails, with the tail of its output.
    """
    costs, records = train(config, work_dir, cfg_options, log)
    evaluated = [r for r in records if metrics[0] in r]
    if not evaluated:
        raise RuntimeError(f'{work_dir}: training logged no {metrics[0]}')
    return {**{name: evaluated[-1][name] for name in metrics}, **costs}


def evaluate_checkpoint(config, checkpoint, work_dir, cfg_options, metrics, log=None):
    """Run ``tools/test.py config checkpoint``; ``metrics`` and ``test_wall_s`` (s).

    The wall time has its own key so that it does not replace the training's
    ``wall_s`` when both go into one record.

    Raises:
        RuntimeError: when testing fails (with its output's tail) or logs none of ``metrics``.
    """
    wall, _ = _run_tool('test', [config, checkpoint, '--work-dir', work_dir], work_dir,
                        cfg_options, log)
    runs = sorted(d for d in os.listdir(work_dir) if osp.isfile(osp.join(work_dir, d, f'{d}.json')))
    if not runs:
        raise RuntimeError(f'no <timestamp>/<timestamp>.json under {work_dir}: did testing log?')
    with open(osp.join(work_dir, runs[-1], f'{runs[-1]}.json')) as f:
        record = [json.loads(line) for line in f if line.strip()][-1]
    if not all(name in record for name in metrics):
        raise RuntimeError(f'{work_dir}: testing logged {sorted(record)}, not {list(metrics)}')
    return {**{name: record[name] for name in metrics}, 'test_wall_s': wall}


def evaluate_recalibrated(config, checkpoint, img_dir, work_dir, cfg_options, metrics):
    """AdaBN: ``tools/recalibrate_bn.py`` (BatchNorm statistics of the images of ``img_dir``)
    into ``work_dir``, then :func:`evaluate_checkpoint` of the result.

    Raises:
        RuntimeError: when either tool fails, with the tail of its output.
    """
    recalibrated = osp.join(work_dir, 'recalibrated_bn.pth')
    _run_tool('recalibrate_bn', [config, checkpoint, recalibrated, '--img-dir', img_dir, '--force'],
              work_dir, cfg_options, None)
    return evaluate_checkpoint(config, recalibrated, work_dir, cfg_options, metrics)


def data_fingerprint(data_root):
    """sha256 over the relative path and content of every file under ``data_root``: the
    split files, images and labels the stored runs were trained and evaluated on.

    Raises:
        FileNotFoundError: ``data_root`` is not a folder.
    """
    if not osp.isdir(data_root):
        raise FileNotFoundError(f'--data-root {data_root} is not a folder (make data writes '
                                'data/toyscenes)')
    digest = hashlib.sha256()
    for folder, subfolders, files in os.walk(data_root):
        subfolders.sort()
        for name in sorted(files):
            path = osp.join(folder, name)
            digest.update(osp.relpath(path, data_root).encode() + b'\0')
            with open(path, 'rb') as f:
                digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


def config_fingerprint(config, cfg_options, *upstream):
    """sha256 of ``config`` resolved (bases merged) with ``cfg_options`` applied, and of the
    fingerprints of the ``upstream`` runs whose checkpoints it starts from."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(cfg_options)
    text = json.dumps([cfg.to_dict(), upstream], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _load_json(path):
    """The stored benchmark JSON at ``path``, or a ValueError naming the file."""
    try:
        with open(path) as f:
            saved = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f'{path} is not a readable benchmark JSON ({error}); move it away '
                         'or pass another --json') from error
    if not isinstance(saved, dict) or not isinstance(saved.get('runs'), dict):
        raise ValueError(f'{path} is not a benchmark JSON (no "runs" object); move it away '
                         'or pass another --json')
    return saved


def _differences(stored, now, prefix=''):
    """'key: stored -> now' for every (nested) setting that differs."""
    lines = []
    for key in sorted({*stored, *now}):
        old, new = stored.get(key, '<not set>'), now.get(key, '<not set>')
        if isinstance(old, dict) and isinstance(new, dict):
            lines += _differences(old, new, f'{prefix}{key}.')
        elif old != new:
            lines.append(f'{prefix}{key}: {old!r} -> {new!r}')
    return lines


def _content(data):
    """What a benchmark JSON says apart from its header (date, command), as JSON text."""
    return json.dumps({**data, 'header': None}, sort_keys=True)


class ResultStore:
    """Benchmark results in one JSON file, saved atomically after every new run.

    The file is refused when it holds runs made with other settings or data.
    A run counts for this invocation's tables (:meth:`current`) only once its
    fingerprint was confirmed (:meth:`done`) or it was added (:meth:`add`):
    runs whose config changed since, or stored before fingerprints were kept,
    stay in the file but are trained again before they are reported.
    """

    def __init__(self, path, header, settings, data_root):
        """``settings`` (e.g. iterations) and the data under ``data_root`` must match those of
        the runs already in ``path``; ``path`` must be writable (checked before any training).

        Raises:
            ValueError: ``path`` is not a benchmark JSON or was made with other settings/data.
            PermissionError, IsADirectoryError: ``path`` cannot be written.
        """
        self.path = path
        settings = {**settings, 'data': {'root': data_root,
                                         'sha256': data_fingerprint(data_root)}}
        self.data = {'header': header, 'settings': settings, 'runs': {}}
        self._current = {}
        check_output(path, force=True, what='--json')
        self._saved = None  # content of the file without its header, as JSON text
        if osp.isfile(path):
            saved = _load_json(path)
            differences = _differences(saved.get('settings', {}), settings)
            if differences:
                raise ValueError(f'{path} holds runs made with other settings or data ('
                                 f'{"; ".join(differences)}): pass another --json, or the '
                                 'settings and data of its runs')
            self.data, self._saved = saved, _content(saved)
        self._header = header

    def done(self, key, fingerprint):
        """Whether ``key`` is stored with ``fingerprint``; if so it counts as current."""
        record = self.data['runs'].get(key)
        if record is None or record.get('fingerprint') != fingerprint:
            return False
        self._current[key] = record
        return True

    def add(self, key, record, fingerprint):
        """Store ``record`` as the result of the run with ``fingerprint`` and save."""
        record = {**record, 'fingerprint': fingerprint}
        self.data['runs'][key] = self._current[key] = record
        self.save()

    def forget(self, key):
        """Drop ``key`` (e.g. a run whose checkpoint is needed but was deleted) so that it is
        trained again."""
        self.data['runs'].pop(key, None)
        self._current.pop(key, None)

    def current(self):
        """The runs confirmed or added by this invocation: the ones its tables may report."""
        return self._current

    def train_once(self, key, config, work_dir, cfg_options, metrics=('mIoU', ), upstream=()):
        """:func:`train_and_evaluate` ``config`` and store the result under ``key``, unless
        ``key`` is stored with the same config, options and ``upstream`` fingerprints (so
        that a rerun resumes the benchmark); returns the run's fingerprint."""
        fingerprint = config_fingerprint(config, cfg_options, *upstream)
        if self.done(key, fingerprint):
            return fingerprint
        if key in self.data['runs']:
            print(f'{key}: stored with another config or before fingerprints; training again',
                  flush=True)
        print(f'training {key} ...', flush=True)
        result = train_and_evaluate(config, work_dir, cfg_options, metrics)
        scores = '  '.join(f'{name} {result[name]:.2f}' for name in metrics)
        print(f'  {scores}  step {result["step_time_s"]:.2f} s  '
              f'peak {result["peak_rss_mib"]:.0f} MiB  wall {result["wall_s"]:.0f} s', flush=True)
        self.add(key, result, fingerprint)
        return fingerprint

    def save(self, **extra):
        """Write the file (atomically) when its content changed; the header (date, command)
        then names this invocation."""
        self.data.update(extra)
        if _content(self.data) == self._saved:
            return
        self.data['header'] = self._header
        with atomic_write(self.path) as f:
            json.dump(self.data, f, indent=1)
        self._saved = _content(self.data)


def merge_results(into, sources):
    """Add to the benchmark JSON ``into`` the runs of the JSONs ``sources`` (e.g. other seeds
    trained in parallel processes on copies of it); returns the keys added. Tables are made
    again by the next run of the benchmark tool, which then trains nothing merged here.

    Raises:
        ValueError: a source was made with other settings or data, or holds a run of the same
            key with another fingerprint (another config); ``into`` is left as it was.
    """
    merged = _load_json(into)
    added = []
    for source in sources:
        saved = _load_json(source)
        differences = _differences(merged.get('settings', {}), saved.get('settings', {}))
        if differences:
            raise ValueError(f'{source} was made with other settings or data than {into} '
                             f'({"; ".join(differences)})')
        for key, run in saved['runs'].items():
            stored = merged['runs'].get(key)
            if stored is None:
                merged['runs'][key] = run
                added.append(key)
            elif stored.get('fingerprint') != run.get('fingerprint'):
                raise ValueError(f'{key} is in {into} and in {source} with other configs '
                                 '(fingerprints differ): keep one of them')
    if added:
        with atomic_write(into) as f:
            json.dump(merged, f, indent=1)
    return added


def mean_std(values):
    """(mean, sample standard deviation; 0 for a single value)."""
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def runs_of(runs, *fields):
    """The stored runs whose '|'-separated key starts with ``fields``, by the rest of their key
    (the seed): ``runs_of(runs, '1/8', 'baseline')`` maps '0' to the run '1/8|baseline|0', '1'
    to '1/8|baseline|1', ...; a key that is all ``fields`` ('MSP') maps from ''."""
    return {'|'.join(key.split('|')[len(fields):]): r for key, r in runs.items()
            if key.split('|')[:len(fields)] == list(fields)}


def paired_ratios(done, base, cost):
    """``cost`` of each run in ``done`` over that of the baseline run of the same seed in
    ``base`` (both as :func:`runs_of` gives them; a single unseeded baseline, key '', pairs
    with every seed): runs of one seed share a process load, runs of different seeds may not.
    Empty when a run or its baseline did not measure ``cost``, or no seed pairs."""
    shared = base.get('') if len(base) == 1 else None
    pairs = [(run, base.get(seed, shared)) for seed, run in done.items()]
    if not pairs or any(b is None or cost not in r or cost not in b for r, b in pairs):
        return []
    return [r[cost] / b[cost] for r, b in pairs]


def summary_entry(done, metrics, base=None, costs=('step_time_s', ), **fields):
    """One table entry: ``fields``, the seed count, mean and std of each metric over the
    runs ``done``, and for each cost the mean and std of its :func:`paired_ratios` to the
    baseline runs ``base`` (none without a baseline). ``done`` and ``base`` map seeds to
    runs, as :func:`runs_of` gives them."""
    entry = {**fields, 'seeds': len(done)}
    for metric in metrics:
        values = [r[metric] for r in done.values() if metric in r]
        if values:
            entry[metric], entry[f'{metric}_std'] = mean_std(values)
    for cost in costs if base else ():
        ratios = paired_ratios(done, base, cost)
        if ratios:
            entry[f'{cost}_ratio'], entry[f'{cost}_ratio_std'] = mean_std(ratios)
    return entry


def mean_std_cell(entry, key, digits=1, unit=''):
    """Markdown cell 'mean ± std' of ``key`` in a summary entry; '-' if not measured."""
    if key not in entry:
        return '-'
    return f'{entry[key]:.{digits}f} ± {entry[f"{key}_std"]:.{digits}f}{unit}'


def ratio_cell(entry, key):
    """Markdown cell '1.23x' of a cost ratio in a summary entry; '-' without a baseline."""
    return f'{entry[key]:.2f}x' if key in entry else '-'


def markdown_table(columns, rows):
    """A markdown table with header ``columns`` and one line per list of cells in ``rows``."""
    lines = [columns, ['---'] * len(columns), *rows]
    return '\n'.join('| ' + ' | '.join(str(cell) for cell in line) + ' |' for line in lines)
