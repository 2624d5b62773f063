import os

import torch

# Triton kernels run in the interpreter on machines without a GPU. The variable
# is read when a kernel is decorated, so it must be set before densecl.ops.triton
# is imported anywhere in the test session.
if not torch.cuda.is_available():
    os.environ.setdefault('TRITON_INTERPRET', '1')
