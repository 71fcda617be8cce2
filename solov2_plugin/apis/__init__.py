"""User-facing helpers: locating shipped configs."""

from .config import config_path, list_configs

__all__ = ["config_path", "list_configs"]
