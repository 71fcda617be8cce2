"""Our checkpoints open with plain ``torch.load(weights_only=True)`` in a process that never
imported the plugin, and importing the plugin changes how nothing of mmengine's is pickled."""

import json
import pickle
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from solov2_plugin.engine import from_portable, to_portable
from solov2_plugin.engine.portable_state import TAG

REPO = Path(__file__).resolve().parents[2]

# Loads each checkpoint given on the command line with torch alone; prints its keys and the
# logged loss history, and whether the plugin was imported along the way.
PLAIN_LOADER = """
import json, sys, torch
out = {}
for path in sys.argv[1:]:
    checkpoint = torch.load(path, weights_only=True)
    loss = checkpoint["message_hub"]["log_scalars"]["train/loss"]
    out[path] = {"keys": sorted(checkpoint), "loss": loss["log"]}
out["plugin_imported"] = any(name.startswith("solov2_plugin") for name in sys.modules)
print(json.dumps(out))
"""

# pickle.dumps of an mmengine HistoryBuffer, in a process without the plugin.
PLAIN_PICKLE = """
import pickle, sys
from mmengine.logging import HistoryBuffer
sys.stdout.write(pickle.dumps(HistoryBuffer([1.0, 2.5], [1, 2], 5), protocol=4).hex())
"""


def run_plain_python(code: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_to_portable_and_back_is_exact(tmp_path):
    buffer = HistoryBuffer(max_length=7)
    for value in (1.5, np.float64(0.1), 2.2, 3):
        buffer.update(value)
    state = OrderedDict(
        hub=buffer,
        f32=np.float32(0.1),
        i64=np.int64(-3),
        flag=np.bool_(True),
        array=np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
        words=np.array(["a", "bc"]),
        nested=[(np.uint8(7), {"x": np.float16(0.5)}), "text", None, torch.ones(2)],
    )
    path = tmp_path / "portable.pth"
    torch.save(to_portable(state), path)
    saved = torch.load(path, weights_only=True)  # no allow-list needed
    assert saved["hub"][TAG] == "HistoryBuffer"
    back = from_portable(saved)
    assert isinstance(back, OrderedDict) and list(back) == list(state)
    np.testing.assert_array_equal(back["hub"].data[0], buffer.data[0])
    np.testing.assert_array_equal(back["hub"].data[1], buffer.data[1])
    assert back["hub"].max_length == 7 and back["hub"].mean() == buffer.mean()
    for key in ("f32", "i64", "flag"):
        assert type(back[key]) is type(state[key]) and back[key] == state[key]
    for key in ("array", "words"):
        assert back[key].dtype == state[key].dtype
        np.testing.assert_array_equal(back[key], state[key])
    (uint8, inner), text, none, tensor = back["nested"]
    assert type(uint8) is np.uint8 and uint8 == 7
    assert type(inner["x"]) is np.float16 and inner["x"] == np.float16(0.5)
    assert (text, none) == ("text", None) and torch.equal(tensor, torch.ones(2))


def test_checkpoints_load_without_the_plugin(tiny_checkpoint, tmp_path):
    """A checkpoint of tools/train.py (the real model) opens with torch alone."""
    out = json.loads(run_plain_python(PLAIN_LOADER, str(tiny_checkpoint)))
    assert out["plugin_imported"] is False
    saved = out[str(tiny_checkpoint)]
    assert {"meta", "state_dict", "message_hub", "optimizer", "rng_state"} <= set(saved["keys"])
    assert len(saved["loss"]) == 1  # one training iteration logged


def test_importing_the_plugin_leaves_mmengine_pickling_unchanged():
    import copyreg

    import solov2_plugin  # noqa: F401

    assert HistoryBuffer not in copyreg.dispatch_table
    plain = run_plain_python(PLAIN_PICKLE)
    assert pickle.dumps(HistoryBuffer([1.0, 2.5], [1, 2], 5), protocol=4).hex() == plain
