"""tools/benchmark.py: the sub-command registry and a tiny run of ``loading``."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "benchmark.py"


@pytest.fixture(scope="module")
def benchmark():
    spec = importlib.util.spec_from_file_location("benchmark_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("height, width, instances", [(48, 96, 7), (96, 48, 12), (40, 40, 1)])
def test_synthetic_scene_has_exactly_the_requested_instances(benchmark, height, width, instances):
    rng = np.random.default_rng(1)
    label_map = benchmark.synthetic_scene(rng, height, width, instances, 65535)
    ids = np.unique(label_map)[1:]
    assert label_map.shape == (height, width)
    assert len(ids) == instances and ids.max() <= 65535


def test_loading_benchmark_runs_and_reports_rates(benchmark, capsys):
    assert "loading" in benchmark.COMMANDS
    argv = ["loading", "--height", "48", "--width", "96", "--instances", "6"]
    assert benchmark.main(argv + ["--samples", "2", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("loading: 48x96 16-bit PNG label maps, 6 instances, 2 samples x 1")
    for row in ("LoadSeedInstanceMasks", "LoadImageFromFile + LoadSeedInstanceMasks", "from RLE"):
        assert row in out
    assert out.count("samples/s") == 4
