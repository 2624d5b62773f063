"""Every paper config trains (and evaluates) from its datasets' official folder layout.

One session fixture writes each format fixture (tools/make_format_fixture.py's writers) and
runs the conversion tools a user runs on the real download; each paper config then trains two
iterations on it at a reduced size (tests/paper_config_testing.py). The configs are split over
the two stacks, as the other per-config trainings' extra cost would otherwise double.
"""
import os
import os.path as osp
import shutil

import pytest
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import densecl  # noqa: F401  (registers everything the configs name)
from densecl.datasets.fixtures import FORMATS
from paper_config_testing import fixture_config
from tool_testing import ROOT, load_tool

SELFSUP = {'train_dataloader.batch_size': 2}
RARE_CLASS = {'train_dataloader.dataset.source.min_pixels': 1}  # fixture images are tiny
CONFIGS = [  # (config, stack, extra options)
    ('contrast/fcn_hr48_4xb2-40k_cityscapes-512x1024.py', 'onedl', {}),
    ('contrast/fcn_hr48_contrastiveseg_4xb2-40k_cityscapes-512x1024.py', 'upstream', {}),
    ('contrast/fcn_hr48_contrastiveseg-mem_4xb2-40k_cityscapes-512x1024.py', 'onedl', {}),
    ('contrast/deeplabv3_r101-d8_contrastiveseg_4xb2-40k_cityscapes-512x1024.py', 'upstream', {}),
    ('contrast/deeplabv3plus_r50-d8_contrastiveseg_4xb2-40k_cityscapes-512x1024.py', 'onedl', {}),
    ('semi/deeplabv3plus_r101-d16_unimatch_4xb4-80e_voc12aug-92-321x321.py', 'upstream', {}),
    ('semi/deeplabv3plus_r101-d16_unimatch_4xb4-240e_cityscapes-1-16-801x801.py', 'upstream', {}),
    ('semi/deeplabv3plus_r101-d16_dssn_4xb4-100e_voc12aug-92-513x513.py', 'onedl', {}),
    # unimatch ...-1464 is the 92 config with another split file (built by test_configs)
    ('semi/deeplabv3plus_r101-d8_css-cross_4xb16-80k_voc12aug-92-512x512.py', 'upstream', {}),
    ('semi/deeplabv3plus_r101-d8_css-cross_4xb8-80k_cityscapes-372-769x769.py', 'onedl', {}),
    ('densecl/densecl_r50_8xb32-coslr-200e_in1k.py', 'upstream', SELFSUP),
    ('pixpro/pixpro_r50_8xb128-lars-coslr-400e_in1k.py', 'onedl', SELFSUP),
    ('selfsup_transfer/fcn_r50-d8_4xb4-20k_voc12aug-512x512_from-densecl.py', 'upstream', {}),
    ('selfsup_transfer/fcn_r50-d8_4xb2-40k_cityscapes-769x769_from-densecl.py', 'onedl', {}),
    ('sepico/deeplabv2_r101-d8_sepico-dist_2x2-40k_gta5-to-cityscapes-640x640.py', 'onedl',
     RARE_CLASS),
    ('sepico/deeplabv2_r101-d8_sepico-dist_2x2-40k_synthia-to-cityscapes-640x640.py',
     'upstream', RARE_CLASS),
]
RPL_CLOSED_SET = 'rpl/deeplabv3plus_r101-d8_closed-set_4xb2-80k_cityscapes-512x1024.py'
RPL = 'rpl/deeplabv3plus_r101-d8_rpl-corocl_1xb16-15k_cityscapes-coco-700x700.py'
SEMI_SPLITS = (('VOCdevkit/VOC2012', 'voc', ('92', '1464')),
               ('cityscapes', 'cityscapes', ('1_16', '1_8')))


def _run(tool, argv):
    assert not load_tool(tool).main(argv), f'tools/{tool}.py {" ".join(argv)} failed'


def _write(fmt, folder):
    os.makedirs(folder)
    FORMATS[fmt](folder, seed=0)


@pytest.fixture(scope='session')
def paper_data(tmp_path_factory):
    """``data/`` as a user has it after unpacking the downloads and running the tools."""
    data = str(tmp_path_factory.mktemp('paper_data'))
    raw = str(tmp_path_factory.mktemp('paper_raw'))
    _write('voc', osp.join(raw, 'voc'))
    for name in ('VOCdevkit', 'benchmark_RELEASE'):
        shutil.move(osp.join(raw, 'voc', name), osp.join(data, name))
    _run('convert_voc_aug', [osp.join(data, 'VOCdevkit'), osp.join(data, 'benchmark_RELEASE')])
    for fmt in ('cityscapes', 'gta5', 'synthia', 'imagenet', 'fishyscapes'):
        _write(fmt, osp.join(data, fmt))
    for fmt in ('cityscapes', 'gta5', 'synthia'):
        _run('convert_datasets', [fmt, osp.join(data, fmt), '--nproc', '1'])
    _write('coco-outliers', osp.join(raw, 'coco'))
    _run('make_coco_outliers',
         ['--coco', osp.join(raw, 'coco'), '--out', osp.join(data, 'coco_outliers')])
    for root, preset, splits in SEMI_SPLITS:
        for split in splits:
            _run('make_splits', ['generate', '--preset', preset, '--data-root',
                                 osp.join(data, root), '--num-labeled', '2', '--seed', '0',
                                 '--out-dir', osp.join(data, root, 'splits', split)])
    return data


def train(config, data, work_dir, options=None):
    init_default_scope('mmseg')
    runner = Runner.from_cfg(fixture_config(osp.join(ROOT, 'configs', config), data, work_dir,
                                            options=options))
    runner.train()
    return runner


@pytest.mark.parametrize('config,stack,options', [
    pytest.param(config, stack, options, id=osp.basename(config),
                 marks=pytest.mark.stack(stack, why='both stacks train the same mmseg models in '
                                                    'the toyscenes per-config tests'))
    for config, stack, options in CONFIGS])
def test_paper_config_trains_on_its_format_fixture(config, stack, options, paper_data,
                                                   tmp_path):
    """The recipe runs from the official layout through the converters: only the reduced size,
    iterations and ImageNet start differ from the paper config."""
    runner = train(config, paper_data, tmp_path, options)
    assert runner.iter == 2
    scalars = runner.message_hub.log_scalars
    losses = [key for key in scalars if key.startswith('train/') and 'loss' in key]
    assert losses and all(scalars[key].current() == scalars[key].current() for key in losses)
    if runner.val_loop is not None:
        assert any('mIoU' in key for key in scalars)


@pytest.mark.stack('upstream', why='the toyscenes RPL configs train on both stacks')
def test_rpl_recipe_trains_from_its_closed_set_run_and_scores_fishyscapes(paper_data, tmp_path):
    """The closed-set recipe's checkpoint starts RPL + CoroCL, which trains on Cityscapes with
    the COCO bank pasted in and scores Fishyscapes L&F."""
    train(RPL_CLOSED_SET, paper_data, tmp_path / 'closed')
    checkpoint = str(tmp_path / 'closed' / 'iter_2.pth')
    runner = train(RPL, paper_data, tmp_path / 'rpl', {'model.closed_set_checkpoint': checkpoint})
    metrics = runner.test()
    assert {'AUROC', 'AP', 'FPR95'} <= {key.split('/')[-1] for key in metrics}
