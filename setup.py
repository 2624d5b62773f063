"""densecl: dense and pixel-level contrastive learning on MMSegmentation 1.x.

The OpenMMLab stacks share import names, so install_requires names neither;
pick one with an extra: ``pip install -e '.[onedl,dev]'`` (maintained onedl-*
packages) or ``.[upstream,dev]`` (mmcv 2.1.0 must be built first with
``--no-build-isolation``; ``make test-upstream`` does it). Requirements are
ranges, so an existing torch is kept; the exact builds the project tests with
are pinned in constraints.txt, which the Makefile's venvs use.
"""
from setuptools import find_packages, setup

setup(
    name='densecl',
    version='0.1.0',
    description='Dense and pixel-level contrastive learning for semantic '
    'segmentation on MMSegmentation 1.x, with fused similarity kernels',
    packages=find_packages(include=['densecl', 'densecl.*']),
    python_requires='>=3.10',
    # torch >= 2.6: safe_globals with (function, name) entries in densecl.compat.
    # albumentations: the strong views of semi-supervised training (2.x: set_random_seed).
    install_requires=['torch>=2.6', 'numpy>=2', 'opencv-python', 'Pillow', 'matplotlib',
                      'albumentations>=2.0,<3'],
    extras_require={
        'onedl': [
            'onedl-mmengine==0.10.12', 'onedl-mmcv==2.3.6',
            'onedl-mmsegmentation==1.4.2', 'ftfy', 'regex'
        ],
        'upstream': [
            'mmengine==0.10.7', 'mmcv==2.1.0',
            'mmsegmentation==1.2.2', 'ftfy', 'regex'
        ],
        'dev': ['pytest', 'triton>=3.2', 'scikit-learn', 'scipy'],
    },
)
