"""Multi-process training on CPUs: ``torchrun ... tools/train.py --launcher pytorch``."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from solov2_plugin.engine.cpu_distributed import join_cpu_process_group

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("launcher", ["none", "slurm"])
def test_other_launchers_are_left_alone(launcher):
    cfg = Config(dict(launcher=launcher))
    assert join_cpu_process_group(cfg) is False
    assert "model_wrapper_cfg" not in cfg
    assert not torch.distributed.is_initialized()


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU path: this machine has CUDA")
def test_two_processes_train_on_cpu(tmp_path):
    # 8 images, 2 ranks of 2 images a batch: 2 iterations in the epoch, one checkpoint.
    options = [
        "train_cfg.max_epochs=1",
        "train_dataloader.dataset.indices=8",
        "train_dataloader.batch_size=2",
        "train_dataloader.num_workers=0",
        "train_dataloader.persistent_workers=False",
        "val_cfg=None",
        "val_dataloader=None",
        "val_evaluator=None",
        "default_hooks.checkpoint.save_best=None",
        "default_hooks.logger.interval=1",
    ]
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "tools/train.py",
        "configs/solov2_demo.py",
        "--launcher",
        "pytorch",
        "--work-dir",
        str(tmp_path),
        "--cfg-options",
        *options,
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Distributed training: True" in output
    iterations = re.findall(r"Epoch\(train\) \[1\]\[(\d)/(\d)\]", output)
    assert iterations == [("1", "2"), ("2", "2")]
    assert (tmp_path / "epoch_1.pth").is_file()
