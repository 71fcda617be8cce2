"""Fixtures of the dataset tests: tiny seed-format splits in ``tmp_path``."""

from pathlib import Path
from typing import Callable, Dict, Optional

import pytest
from seed_samples import write_sample


@pytest.fixture
def seed_split(tmp_path: Path) -> Callable[..., Path]:
    """Builder of a valid split: an 8-bit, a 16-bit and an empty sample by default."""

    def build(samples: Optional[Dict[str, dict]] = None) -> Path:
        root = tmp_path / "split"
        samples = samples or {
            "a": dict(ids=(3, 7, 12)),
            "b": dict(ids=(300, 65000), label_bits=16),
            "c": dict(ids=()),
        }
        for stem, spec in samples.items():
            write_sample(root, stem, **spec)
        return root

    return build
