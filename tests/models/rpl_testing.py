"""Tiny RPL configs and a tool runner shared by the RPL model and demo tests."""
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RPL = 'configs/rpl/deeplabv3plus_r18-d16_{}_toyscenes-128x128.py'
CLOSED_SET = RPL.format('closed-set_1k')
# A narrow ResNet-18 and DeepLabV3+ head so a step takes well under a second.
TINY_MODEL = {
    'model.backbone.stem_channels': 16, 'model.backbone.base_channels': 8,
    'model.backbone.init_cfg': None,  # narrow: no pretrained weights fit
    'model.decode_head.in_channels': 64, 'model.decode_head.channels': 16,
    'model.decode_head.c1_in_channels': 8, 'model.decode_head.c1_channels': 4,
}
TINY_AUX = {'model.auxiliary_head.in_channels': 32, 'model.auxiliary_head.channels': 8}


def run_tool(tool, config, work_dir, data_root, *args, options=()):
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    settings = {**{f'{loader}.dataset.data_root': data_root for loader in loaders},
                **{f'{loader}.num_workers': 0 for loader in loaders},
                **{f'{loader}.persistent_workers': False for loader in loaders},
                'train_dataloader.batch_size': 2, 'default_hooks.logger.interval': 1,
                **dict(options)}
    result = subprocess.run(
        [sys.executable, f'tools/{tool}.py', config, *args, '--work-dir', work_dir,
         '--cfg-options', *[f'{k}={v}' for k, v in settings.items()]],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr
