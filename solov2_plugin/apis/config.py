"""Locate the configs shipped with solov2-plugin."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import List


def _config_dir() -> Path:
    """Folder of the shipped configs: ``solov2_plugin/configs`` once installed.

    The repository keeps them in its top-level ``configs/`` folder;
    ``solov2_plugin/configs`` links to it, so wheels and editable installs both ship
    them as the package ``solov2_plugin.configs``.
    """
    return Path(str(importlib.resources.files("solov2_plugin.configs")))


def list_configs() -> List[str]:
    """Names of the shipped configs, e.g. ``['solov2_demo.py', 'solov2_x50.py', ...]``."""
    return sorted(p.name for p in _config_dir().glob("*.py") if not p.name.startswith("_"))


def config_path(name: str) -> str:
    """Absolute path of a shipped config, usable from any project after ``pip install``.

    mmengine's ``package::`` prefix only knows OpenMMLab packages, so build on a
    shipped config by loading it and overriding what you need::

        from mmengine.config import Config
        from solov2_plugin import config_path

        cfg = Config.fromfile(config_path('solov2_x50.py'))
        cfg.merge_from_dict({'train_dataloader.dataset.data_root': 'my_data/train'})

    Args:
        name: File name of the config, with or without ``.py``.

    Returns:
        The absolute path of the config file.

    Raises:
        FileNotFoundError: No shipped config has that name; the message lists them.
    """
    file_name = name if name.endswith(".py") else f"{name}.py"
    path = _config_dir() / file_name
    if not path.is_file():
        raise FileNotFoundError(
            f"solov2-plugin ships no config named '{file_name}'. "
            f"Available: {', '.join(list_configs())}."
        )
    return str(path)
