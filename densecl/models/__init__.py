from .data_preprocessors import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .selfsup import *  # noqa: F401,F403
