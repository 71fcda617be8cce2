"""User-facing API: configs and their overrides, the predictor, post-processing and measurements.

- configs: :func:`config_path`, :func:`list_configs`, :func:`merge_cfg_options`,
  :func:`load_config`, :func:`build_train_config`, :func:`build_test_config`;
- inference: :class:`SOLOv2Predictor`, :func:`read_image`, :func:`det_inferencer_config`;
- post-processing (pure, numpy): :func:`fuse_instances`, :func:`clean_label_image`,
  :func:`edge_flags`, :func:`drop_edge_objects`, :func:`instances_to_label_image`;
- measurements: :func:`measure_instances`, :func:`write_measurements_csv`, :data:`COLUMNS`;
- frame series and large images: :func:`predict_series`, :func:`predict_tiled`;
- wall-time budgets: the hooks of :mod:`.budget_training` (registered on import).
"""

from . import budget_training  # noqa: F401  (registers WallTimeBudgetHook, IterationDurationHook)
from .config import config_path, list_configs
from .data_overrides import merge_cfg_options
from .label_image import (
    clean_label_image,
    drop_edge_objects,
    edge_flags,
    fuse_instances,
    instances_to_label_image,
)
from .measure import COLUMNS, measure_instances, write_measurements_csv
from .predictor import SOLOv2Predictor, UnreadableImageError, det_inferencer_config, read_image
from .runner_config import build_test_config, build_train_config, load_config
from .series import predict_series
from .tiles import predict_tiled

__all__ = [
    "COLUMNS",
    "SOLOv2Predictor",
    "UnreadableImageError",
    "build_test_config",
    "build_train_config",
    "clean_label_image",
    "config_path",
    "det_inferencer_config",
    "drop_edge_objects",
    "edge_flags",
    "fuse_instances",
    "instances_to_label_image",
    "list_configs",
    "load_config",
    "measure_instances",
    "merge_cfg_options",
    "predict_series",
    "predict_tiled",
    "read_image",
    "write_measurements_csv",
]
