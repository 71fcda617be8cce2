"""Fuzz tests' set-up: hypothesis profiles and a tally of the cases run per input kind.

Profiles (applied per test, never loaded globally, so other tests keep theirs):

- ``fuzz``: the default run; each test sets a fixed ``max_examples`` that keeps the
  whole fuzz set around 30 s on 2 cores.
- ``fuzz-slow``: the ``@pytest.mark.slow`` variants, many more examples each.

Both are reproducible (``derandomize=True``, no example database) and have no
deadline (a case writes files and builds a dataset; times vary on a shared machine).

The ``fuzz_tally`` fixture counts every case by input kind and outcome; the counts
are printed at the end of the session ("fuzzed cases per input kind").
"""

from collections import Counter
from typing import Dict, Tuple

import pytest
from hypothesis import HealthCheck, settings

_COMMON = dict(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("fuzz", max_examples=20, **_COMMON)
settings.register_profile("fuzz-slow", max_examples=400, **_COMMON)


class FuzzTally:
    """Cases run per input kind ('label map', 'image'...), detail and outcome."""

    def __init__(self) -> None:
        self.counts: Dict[Tuple[str, str, str], int] = Counter()

    def record(self, kind: str, outcome: str) -> None:
        """Count one case of ``kind`` ('image: png 3ch 16-bit') ending in ``outcome``."""
        head, _, detail = kind.partition(": ")
        self.counts[(head, detail, outcome)] += 1

    def lines(self) -> list:
        """One line per input kind: cases, outcomes, then the details with their counts."""
        lines = []
        for head in sorted({key[0] for key in self.counts}):
            mine = {key: n for key, n in self.counts.items() if key[0] == head}
            outcomes: Dict[str, int] = Counter()
            details: Dict[str, int] = Counter()
            for (_, detail, outcome), n in mine.items():
                outcomes[outcome] += n
                details[detail or "-"] += n
            listed = ", ".join(f"{o} {n}" for o, n in sorted(outcomes.items()))
            lines.append(f"{head}: {sum(mine.values())} cases, all handled ({listed})")
            lines.append("    " + "; ".join(f"{d} {n}" for d, n in sorted(details.items())))
        return lines


_TALLY = FuzzTally()


@pytest.fixture(scope="session")
def fuzz_tally() -> FuzzTally:
    """The session's tally of fuzzed cases (a case is recorded once it has passed its check)."""
    return _TALLY


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Print the fuzzed cases per input kind."""
    if _TALLY.counts:
        terminalreporter.section("fuzzed cases per input kind")
        for line in _TALLY.lines():
            terminalreporter.write_line(line)
