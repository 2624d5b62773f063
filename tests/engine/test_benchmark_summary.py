"""Table helpers of densecl.engine.benchmark on hand-computed runs."""
import pytest

import densecl  # noqa: F401
from densecl.engine.benchmark import (mean_std_cell, paired_ratios, quick_options, ratio_cell,
                                      runs_of, schedule_options, split_file, summary_entry)

RUNS = {'1/8|baseline|0': {'mIoU': 20.0, 'step_time_s': 1.0},
        '1/8|baseline|1': {'mIoU': 22.0, 'step_time_s': 3.0},
        '1/8|baseline, 5x|0': {'mIoU': 70.0, 'step_time_s': 9.0},
        '1/8|SupCon|0': {'mIoU': 23.0, 'step_time_s': 3.0},
        '1/8|SupCon|1': {'mIoU': 27.0, 'step_time_s': 5.0},
        'full|baseline|0': {'mIoU': 50.0, 'step_time_s': 1.0},
        'MSP': {'mIoU': 40.0}}


def test_runs_of_matches_whole_fields():
    assert runs_of(RUNS, '1/8', 'baseline') == {'0': RUNS['1/8|baseline|0'],
                                                '1': RUNS['1/8|baseline|1']}
    assert runs_of(RUNS, 'MSP') == {'': RUNS['MSP']}
    assert runs_of(RUNS, 'full', 'SupCon') == {}


def test_summary_entry_by_hand():
    base = runs_of(RUNS, '1/8', 'baseline')
    entry = summary_entry(runs_of(RUNS, '1/8', 'SupCon'), ('mIoU', 'AP'), base, row='SupCon')
    # mIoU 23, 27: mean 25, sample std sqrt(((-2)^2 + 2^2) / 1) = 2.828...
    assert entry['row'] == 'SupCon' and entry['seeds'] == 2
    assert entry['mIoU'] == 25.0 and entry['mIoU_std'] == pytest.approx(8 ** 0.5)
    # Steps paired per seed: 3/1 and 5/3, mean 7/3 (the ratio of means would say 4/2 = 2).
    assert entry['step_time_s_ratio'] == pytest.approx(7 / 3)
    assert entry['step_time_s_ratio_std'] == pytest.approx(((2 / 3) ** 2 * 2) ** 0.5)
    assert 'AP' not in entry  # not measured: no cell value invented
    assert 'step_time_s_ratio' not in summary_entry(base, ('mIoU', ))
    # A cost the baseline did not measure gets no ratio.
    assert 'step_time_s_ratio' not in summary_entry(base, ('mIoU', ), {'': RUNS['MSP']})


def test_ratios_pair_seeds_or_one_shared_baseline():
    supcon = runs_of(RUNS, '1/8', 'SupCon')
    # One unseeded baseline (the OoD closed-set run) pairs with every seed: 3/1, 5/1.
    shared = {'': RUNS['full|baseline|0']}
    assert paired_ratios(supcon, shared, 'step_time_s') == [3.0, 5.0]
    # A seed whose baseline is missing: no ratio rather than one over other loads.
    assert paired_ratios(supcon, {'0': RUNS['1/8|baseline|0']}, 'step_time_s') == []
    assert paired_ratios({}, shared, 'step_time_s') == []


def test_split_files_are_make_synthetic_lists():
    assert split_file('full') == ''
    assert split_file('1/64') == 'splits/train_1-64.txt'
    assert split_file('1/8') == 'splits/train_1-8.txt'


def test_cells():
    entry = {'mIoU': 25.0, 'mIoU_std': 2.8284, 'step_time_s_ratio': 1.234}
    assert mean_std_cell(entry, 'mIoU') == '25.0 ± 2.8'
    assert mean_std_cell(entry, 'mIoU', 2, ' s') == '25.00 ± 2.83 s'
    assert mean_std_cell(entry, 'AP') == '-'
    assert ratio_cell(entry, 'step_time_s_ratio') == '1.23x'
    assert ratio_cell(entry, 'peak_rss_mib_ratio') == '-'


def test_schedule_options_end_decay_checkpoint_and_validation_at_the_last_iteration():
    assert schedule_options(400, lr=0.003) == {
        'train_cfg.max_iters': 400, 'param_scheduler.0.end': 400,
        'default_hooks.checkpoint.interval': 400, 'default_hooks.logger.interval': 50,
        'train_cfg.val_interval': 400, 'optim_wrapper.optimizer.lr': 0.003}
    # pretraining has no validation; 2 iterations still log every iteration; lr as configured
    assert schedule_options(2, validate=False) == {
        'train_cfg.max_iters': 2, 'param_scheduler.0.end': 2,
        'default_hooks.checkpoint.interval': 2, 'default_hooks.logger.interval': 1}


def test_quick_options_load_in_process_with_small_batches_and_leave_full_runs_alone():
    assert quick_options(False) == {}
    assert quick_options(True) == {
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
        'train_dataloader.batch_size': 2}
    # an evaluation alone leaves the training batch as configured
    assert quick_options(True, ['test_dataloader']) == {
        'test_dataloader.num_workers': 0, 'test_dataloader.persistent_workers': False}
    # labelled + unlabelled (or source + target) batches go through the sampler's split
    two = quick_options(True, two_streams=True)
    assert (two['train_dataloader.batch_size'], two['train_dataloader.sampler.batch_size'],
            two['train_dataloader.sampler.num_labeled']) == (4, 4, 2)
