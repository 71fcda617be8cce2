"""User-facing helpers: locating shipped configs, applying command-line overrides."""

from .config import config_path, list_configs
from .data_overrides import merge_cfg_options
from .predictor import SOLOv2Predictor, UnreadableImageError, det_inferencer_config, read_image

__all__ = [
    "config_path",
    "list_configs",
    "merge_cfg_options",
    "SOLOv2Predictor",
    "UnreadableImageError",
    "det_inferencer_config",
    "read_image",
]
