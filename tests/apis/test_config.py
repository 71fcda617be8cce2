"""Shipped configs are found through the installed package, from any folder."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from solov2_plugin.apis import config_path, list_configs

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_every_repository_config_is_shipped():
    shipped = set(list_configs())
    in_repo = {p.name for p in REPO_CONFIGS.glob("*.py") if not p.name.startswith("_")}
    assert shipped == in_repo
    assert "solov2_x50.py" in shipped


def test_config_path_accepts_names_without_suffix():
    assert config_path("solov2_x50") == config_path("solov2_x50.py")
    assert Path(config_path("solov2_x50")).is_file()


def test_unknown_config_lists_the_available_ones():
    with pytest.raises(FileNotFoundError, match="solov2_x50.py"):
        config_path("solov3_x50.py")


def test_config_loads_and_is_overridable_from_outside_the_repository(tmp_path):
    script = textwrap.dedent(
        """
        from mmengine.config import Config
        from solov2_plugin import config_path

        cfg = Config.fromfile(config_path('solov2_x50.py'))
        cfg.merge_from_dict({'train_dataloader.dataset.data_root': 'my_data/train'})
        assert cfg.model.type == 'SOLOv2Segmentor', cfg.model.type
        assert cfg.train_dataloader.dataset.data_root == 'my_data/train'
        print('ok')
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
