"""Fuzzed image files: PNG of 1, 2, 3, 4 channels and 8 or 16 bits, TIFF, BMP, JPEG,
truncated at any byte, bytes replaced, garbage, zero bytes, float TIFF, headers claiming
0 x N or huge sizes; the dataset built with and without ``verify_images``.

Intact images load with exactly the pixels ``LoadSeedImage`` documents (BGR, alpha
dropped, grey replicated, 16 bits scaled by the maximum) and the label map's instances;
broken ones raise ``SeedFormatError`` naming the image (or, when a corrupt header
decodes to another size, the label map); none raises anything else or exhausts memory.
"""

import pytest
from fuzz_oracle import check_case
from fuzz_strategies import IMAGE_KINDS, image_cases
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize("image_kind", IMAGE_KINDS)
@settings(settings.get_profile("fuzz"), max_examples=5)
@given(data=st.data())
def test_images_load_exactly_or_name_the_file(
    image_kind: str, data: st.DataObject, fuzz_tally
) -> None:
    case = data.draw(image_cases(image_kind), label="case")
    fuzz_tally.record(case.kind, check_case(case))


@pytest.mark.slow
@pytest.mark.parametrize("image_kind", IMAGE_KINDS)
@settings(settings.get_profile("fuzz-slow"), max_examples=40)
@given(data=st.data())
def test_images_load_exactly_or_name_the_file_many(
    image_kind: str, data: st.DataObject, fuzz_tally
) -> None:
    case = data.draw(image_cases(image_kind), label="case")
    fuzz_tally.record(case.kind, check_case(case))
