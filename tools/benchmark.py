"""Benchmarks of solov2_plugin, one sub-command each (logic in ``solov2_plugin.benchmark``).

Usage::

    python tools/benchmark.py loading [--height 768 --width 1536 --instances 100]
    python tools/benchmark.py model [--device cpu|cuda] [--size H W] [--instances K]
                                    [--batch N] [--json PATH] [--variants all]
    python tools/benchmark.py model --scaling --json scaling.json --plot scaling.png
    python tools/benchmark.py plot scaling.json docs/benchmarks_scaling.png

See ``python tools/benchmark.py SUBCOMMAND --help`` and ``docs/benchmarks.md``.
"""

import sys

from solov2_plugin.benchmark.cli import main

if __name__ == "__main__":
    sys.exit(main())
