from .. import compat  # noqa: F401  (without mmseg: ImportError naming the installs)
from .batchnorm import recalibrate_batchnorm
from .checkpoint import backbone_state_dict, checkpoint_mismatch, state_dict_mismatch
from .config import check_cfg_options, check_config, load_config
from .distributed import setup_cpu_distributed
from .hooks import (DenseLossWarmupHook, IterSeedHook, PixProMomentumHook,
                    QueueLengthCheckHook)
from .loops import TeacherStudentValLoop
from .outputs import atomic_write, check_output
from .optimizers import LARS
from .model_zoo import resolve_weights, weights_url
from .pretrained import init_options, pretrained_inits, resolve_pretrained
from .resume import find_resume_checkpoint
from .work_dir_lock import work_dir_lock

__all__ = [
    'atomic_write', 'backbone_state_dict', 'checkpoint_mismatch', 'check_cfg_options',
    'check_config', 'check_output', 'init_options', 'pretrained_inits', 'resolve_pretrained',
    'resolve_weights', 'weights_url',
    'DenseLossWarmupHook', 'find_resume_checkpoint', 'IterSeedHook', 'LARS', 'load_config',
    'PixProMomentumHook', 'QueueLengthCheckHook', 'recalibrate_batchnorm', 'setup_cpu_distributed',
    'state_dict_mismatch', 'TeacherStudentValLoop', 'work_dir_lock'
]
