"""SOLOv2 instance segmentation for MMDetection 3.x.

Importing this package registers its datasets, transforms, models and hooks into
mmdet's registries (``custom_imports = dict(imports=['solov2_plugin'])`` in a
config does the same) and makes mmengine checkpoints load safely on torch >= 2.6.
"""

from . import datasets, engine, evaluation, models  # noqa: F401  (imported for registration)
from .apis import config_path
from .version import __version__

__all__ = ["__version__", "config_path"]
