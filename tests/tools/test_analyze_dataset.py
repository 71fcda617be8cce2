"""tools/analyze_dataset.py, run as a command on the demo split: report, config, PNG.

The numbers are tested through the package (tests/analysis/); one run here covers the
wrapper: the printed suggestion, the written config (loadable, relative _base_) and picture.
"""

import subprocess
import sys
from pathlib import Path

from mmengine.config import Config
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def test_analyze_the_demo_split(tmp_path):
    out = tmp_path / "analysis"
    command = [
        sys.executable,
        "tools/analyze_dataset.py",
        "data/demo/train",
        "--out-dir",
        str(out),
        "--base",
        "configs/solov2_demo.py",
        "--no-progress",
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    table = lines.index("  level  stride  range px  grid  owns   in range  centre collisions")
    assert lines[table + 1 : table + 4] == [
        "  0      4       1-32      32    26.8%  474       0.8%",
        "  1      8       16-64     16    46.7%  772       1.3%",
        "  2      16      32-256    8     26.5%  487       0.8%",
    ]
    assert lines[table + 4 :] == [
        "--cfg-options for configs/solov2_demo.py:",
        "  'input_size=(256,256)' model.neck.num_outs=3 model.neck.end_level=2 "
        "'model.mask_head.strides=(4,8,16)' 'model.mask_head.scale_ranges=((1,32),(16,64),"
        "(32,256))' 'model.mask_head.num_grids=(32,16,8)' "
        "model.mask_head.mask_feature_head.end_level=2 "
        "'train_dataloader.dataset.pipeline.2.scale=(256,256)' "
        "'val_dataloader.dataset.pipeline.1.scale=(256,256)' "
        "'test_dataloader.dataset.pipeline.1.scale=(256,256)'",
        f"config: {out / 'suggested_config.py'}",
        f"histogram: {out / 'object_sizes.png'}",
    ]
    cfg = Config.fromfile(str(out / "suggested_config.py"))
    assert cfg.model.mask_head.num_grids == (32, 16, 8)
    assert cfg.train_dataloader.dataset.data_root == "data/demo/train"  # from the base
    with Image.open(out / "object_sizes.png") as image:
        assert image.size == (990, 528)
