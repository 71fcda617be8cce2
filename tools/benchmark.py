"""Benchmarks of solov2_plugin, one sub-command each (logic in ``solov2_plugin.benchmark``).

Usage::

    python tools/benchmark.py loading [--height 768 --width 1536 --instances 100]
    python tools/benchmark.py model [--device cpu|cuda] [--size H W] [--instances K]
                                    [--batch N] [--json PATH] [--variants all]
    python tools/benchmark.py model --scaling --json scaling.json --plot scaling.png
    python tools/benchmark.py plot scaling.json docs/benchmarks_scaling.png
    python tools/benchmark.py memory --checkpoint CKPT [--steps 1000] [--num-workers 0 2]
                                     [--val-interval 250] [--threads 1] [--json PATH] [--plot PNG]
    python tools/benchmark.py export --config CFG --checkpoint CKPT [--onnx PATH]
                                     [--images ...] [--threads 2] [--json PATH]

See ``python tools/benchmark.py SUBCOMMAND --help`` and ``docs/benchmarks.md``.
"""

import sys

from solov2_plugin.benchmark.cli import main

if __name__ == "__main__":
    sys.exit(main())
