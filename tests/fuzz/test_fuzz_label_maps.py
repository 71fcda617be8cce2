"""Fuzzed label maps: every dtype and store, sizes 1x1 to 300 px, IDs with gaps, holes,
split instances, IDs missing from or added to the annotation, images of another size.

Each case loads exactly the IDs its map holds (with exactly their masks, classes and
crowd flags) or raises ``SeedFormatError`` naming the label map or the annotation.
"""

import pytest
from fuzz_oracle import check_case
from fuzz_strategies import LABEL_STORES, label_map_cases
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize("store", sorted(LABEL_STORES))
@settings(settings.get_profile("fuzz"), max_examples=6)
@given(data=st.data())
def test_label_maps_load_exactly_or_name_the_file(
    store: str, data: st.DataObject, fuzz_tally
) -> None:
    case = data.draw(label_map_cases(store), label="case")
    fuzz_tally.record(case.kind, check_case(case))


@pytest.mark.slow
@pytest.mark.parametrize("store", sorted(LABEL_STORES))
@settings(settings.get_profile("fuzz-slow"), max_examples=60)
@given(data=st.data())
def test_label_maps_load_exactly_or_name_the_file_many(
    store: str, data: st.DataObject, fuzz_tally
) -> None:
    case = data.draw(label_map_cases(store), label="case")
    fuzz_tally.record(case.kind, check_case(case))
