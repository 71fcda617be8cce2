"""Timing and peak-memory measurement of one callable, on CPU or CUDA.

CUDA timings synchronise the device before and after every call; peak memory
is ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``. On
CPU the peak is the process's resident set size (RSS): its high-water mark is
reset through ``/proc/self/clear_refs`` where Linux allows it, otherwise the
lifetime peak from ``resource.getrusage`` is reported (and marked as such).
"""

import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass
class Measurement:
    """Median time and peak memory of one measured callable.

    Attributes:
        median_ms (float): Median wall time of the timed calls, in ms.
        min_ms (float): Fastest timed call, in ms.
        repeats (int): Number of timed calls.
        peak_bytes (int): Peak memory during one extra call: CUDA memory
            allocated by tensors, or the process RSS on CPU.
        peak_delta_bytes (int): ``peak_bytes`` minus the memory in use just
            before that call (what the call itself added).
        peak_kind (str): ``'cuda_allocated'``, ``'rss'`` (reset before the
            call) or ``'rss_lifetime'`` (could not be reset).
    """

    median_ms: float
    min_ms: float
    repeats: int
    peak_bytes: int
    peak_delta_bytes: int
    peak_kind: str

    def as_dict(self) -> dict:
        """Plain-dict form for JSON."""
        return asdict(self)


def synchronize(device: torch.device) -> None:
    """Wait for all queued work of ``device`` (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rss_fields() -> dict:
    """``VmRSS`` and ``VmHWM`` of this process in bytes (empty off Linux)."""
    fields = {}
    if _STATUS.is_file():
        for line in _STATUS.read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) * 1024
    return fields


def _reset_rss_peak() -> bool:
    """Reset the RSS high-water mark (Linux ``clear_refs`` 5); True when it worked."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _lifetime_rss_peak() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_memory(fn: Callable[[], object], device: torch.device) -> tuple:
    """Peak memory of one call of ``fn``.

    Args:
        fn (Callable[[], object]): The work to measure.
        device (torch.device): Where it runs.

    Returns:
        tuple[int, int, str]: Peak bytes, peak minus the bytes in use before
        the call, and the kind of measurement (see :class:`Measurement`).
    """
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        synchronize(device)
        peak = torch.cuda.max_memory_allocated(device)
        return peak, peak - before, "cuda_allocated"
    reset = _reset_rss_peak()
    before = _rss_fields().get("VmRSS", 0)
    fn()
    if reset and "VmHWM" in _rss_fields():
        peak = _rss_fields()["VmHWM"]
        return peak, peak - before, "rss"
    peak = _lifetime_rss_peak()
    return peak, peak - before, "rss_lifetime"


def measure_interleaved(
    fns: Dict[str, Callable[[], object]],
    device: torch.device,
    warmup: int = 1,
    repeats: int = 3,
    memory: bool = True,
) -> Dict[str, Measurement]:
    """Time several callables in turns, so that each sees the same conditions.

    Round ``r`` calls every callable once, in the given order on even rounds
    and reversed on odd ones; a slow spell of the machine (another process,
    clock changes, a busy host thread feeding the GPU) then lands on all of
    them instead of on whichever was measured at the time.

    Args:
        fns (dict[str, Callable[[], object]]): The work to measure, by name
            (results are dropped).
        device (torch.device): Where it runs; CUDA calls are synchronised.
        warmup (int): Untimed rounds first. Defaults to 1.
        repeats (int): Timed rounds (>= 1). Defaults to 3.
        memory (bool): Also run one extra call of each for its peak memory.
            Defaults to True.

    Returns:
        dict[str, Measurement]: Median and fastest time, peak memory, by name.

    Raises:
        ValueError: If ``repeats`` < 1 or ``warmup`` < 0.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"measure: need repeats >= 1 and warmup >= 0, got {repeats}, {warmup}.")
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    times: Dict[str, List[float]] = {name: [] for name in names}
    for round_index in range(repeats):
        for name in names if round_index % 2 == 0 else reversed(names):
            synchronize(device)
            start = time.perf_counter()
            fns[name]()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    results = {}
    for name in names:
        peak, delta, kind = peak_memory(fns[name], device) if memory else (0, 0, "none")
        results[name] = Measurement(
            median_ms=statistics.median(times[name]) * 1000,
            min_ms=min(times[name]) * 1000,
            repeats=repeats,
            peak_bytes=int(peak),
            peak_delta_bytes=int(delta),
            peak_kind=kind,
        )
    return results


def measure(
    fn: Callable[[], object],
    device: torch.device,
    warmup: int = 1,
    repeats: int = 3,
    memory: bool = True,
) -> Measurement:
    """Warm up, time ``repeats`` calls of ``fn`` and measure its peak memory.

    One callable of :func:`measure_interleaved` (same arguments and errors).

    Returns:
        Measurement: Median and fastest time, peak memory.
    """
    return measure_interleaved(dict(fn=fn), device, warmup, repeats, memory)["fn"]


def ratio(numerator: Optional[float], denominator: Optional[float]) -> Optional[float]:
    """``numerator / denominator``, or None when either is missing or the divisor is 0."""
    if not numerator or not denominator:
        return None
    return numerator / denominator
