"""Benchmarks: data loading, and mmdet's SOLOv2 against ours (speed, memory, agreement).

``tools/benchmark.py`` is the command line (:mod:`solov2_plugin.benchmark.cli`).
Modules import mmdet lazily where they can, so importing this package is cheap.
"""

from .agreement import compare_detections
from .measure import Measurement, measure

__all__ = ["Measurement", "compare_detections", "measure"]
