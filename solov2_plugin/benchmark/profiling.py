"""``torch.profiler`` tables of one benchmarked callable, for the model benchmark's ``--profile``.

Each profile runs the callable a few times (after the benchmark's own
warm-up) and writes two tables: operators by self time on the device (CPU
time on a CPU run) and by self CPU time (host overhead: launches, syncs,
Python-side work). Its summary counts what usually explains a gap between
the device's busy time and the wall time: host-device synchronisations,
copies and kernel launches per call.
"""

import time
from pathlib import Path
from typing import Callable, Dict

import torch
from torch.profiler import ProfilerActivity, profile

from .measure import synchronize

# Host-side events that wait for the device or move data (CUDA runtime and aten names).
_SYNC_EVENTS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "aten::_local_scalar_dense")
_COPY_EVENTS = ("cudaMemcpyAsync", "cudaMemcpy")
_LAUNCH_EVENTS = ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernelEx")


def profile_call(
    fn: Callable[[], object],
    device: torch.device,
    path: Path,
    title: str,
    steps: int = 3,
    row_limit: int = 30,
) -> Dict[str, float]:
    """Profile ``steps`` calls of ``fn`` and write the tables to ``path``.

    Args:
        fn (Callable[[], object]): The (already warmed-up) work.
        device (torch.device): Where it runs.
        path (Path): Text file to write (its folder is created).
        title (str): First line of the file.
        steps (int): Profiled calls. Defaults to 3.
        row_limit (int): Rows per table. Defaults to 30.

    Returns:
        dict[str, float]: Per call: ``wall_ms`` (under the profiler),
        ``device_ms`` (sum of the device's self time; CPU runs: 0),
        ``syncs``, ``copies`` and ``launches`` (event counts).
    """
    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    synchronize(device)
    with profile(activities=activities) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        synchronize(device)
        wall = time.perf_counter() - start
    events = prof.key_averages()

    def count(names) -> float:
        return sum(event.count for event in events if event.key in names) / steps

    device_us = sum(getattr(event, "self_device_time_total", 0) for event in events) if cuda else 0
    summary = dict(
        wall_ms=wall * 1000 / steps,
        device_ms=device_us / 1000 / steps,
        syncs=count(_SYNC_EVENTS),
        copies=count(_COPY_EVENTS),
        launches=count(_LAUNCH_EVENTS),
    )
    lines = [
        title,
        f"{steps} calls profiled; per call: "
        + ", ".join(f"{key} {value:.1f}" for key, value in summary.items()),
        "",
    ]
    sort_keys = (["self_device_time_total"] if cuda else []) + ["self_cpu_time_total"]
    for key in sort_keys:
        lines += [f"## By {key}", events.table(sort_by=key, row_limit=row_limit), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return summary
