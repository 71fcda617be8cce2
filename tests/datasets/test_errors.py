"""SeedFormatError and the listing helper of messages."""

import pickle

from solov2_plugin.datasets.errors import SeedFormatError, short_listing


def test_seed_format_error_is_a_value_error_that_pickles():
    error = SeedFormatError("labels/a.png", "Broken.", "Fix it.")
    assert isinstance(error, ValueError)
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == "labels/a.png: Broken. Fix it." and again.path == "labels/a.png"


def test_short_listing_cuts_after_the_limit():
    assert short_listing([1, 2, 3]) == "1, 2, 3"
    assert short_listing(range(13), limit=2) == "0, 1 and 11 more"
