"""Fuzzed annotation JSONs: missing, extra and mistyped keys and values, bad or off boxes,
documents that are not objects, not JSON, not UTF-8, nested too deep, duplicate IDs.

Accepted mutations load exactly the instances of the label map (off boxes warn once and
the masks' boxes are used); the others raise ``SeedFormatError`` naming the annotation.
"""

import pytest
from fuzz_oracle import check_case
from fuzz_strategies import MUTATIONS, annotation_cases
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize("mutation", MUTATIONS)
@settings(settings.get_profile("fuzz"), max_examples=5)
@given(data=st.data())
def test_annotations_load_exactly_or_name_the_file(
    mutation: str, data: st.DataObject, fuzz_tally
) -> None:
    case = data.draw(annotation_cases(mutation), label="case")
    fuzz_tally.record(case.kind, check_case(case))


@pytest.mark.slow
@pytest.mark.parametrize("mutation", MUTATIONS)
@settings(settings.get_profile("fuzz-slow"), max_examples=40)
@given(data=st.data())
def test_annotations_load_exactly_or_name_the_file_many(
    mutation: str, data: st.DataObject, fuzz_tally
) -> None:
    case = data.draw(annotation_cases(mutation), label="case")
    fuzz_tally.record(case.kind, check_case(case))
