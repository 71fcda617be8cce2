"""Seed-style class indices and default palettes."""

import json

import pytest

from solov2_plugin.datasets.class_index import (
    check_classes,
    default_palette,
    read_cls_ind,
    write_cls_ind,
)


def test_background_is_dropped_and_classes_follow_their_index(tmp_path):
    cls_ind = {"ring": 4, "background": 0, "disc": 1, "rod": 9}
    assert read_cls_ind(cls_ind) == (["disc", "ring", "rod"], [1, 4, 9])
    path = tmp_path / "classes.json"
    path.write_text(json.dumps(cls_ind))
    assert read_cls_ind(str(path)) == (["disc", "ring", "rod"], [1, 4, 9])


@pytest.mark.parametrize(
    "cls_ind, message",
    [
        ({"background": 0}, "no class besides background"),
        ({"a": 1, "b": 1}, r"indices \[1\] are given to several"),
        ({"a": "1"}, "must be an integer"),
        ({"a": True}, "must be an integer"),
        (["a", "b"], "must map class names"),
    ],
)
def test_malformed_cls_ind_raises(cls_ind, message):
    with pytest.raises(ValueError, match=message):
        read_cls_ind(cls_ind)


def test_unreadable_cls_ind_file_names_it(tmp_path):
    path = tmp_path / "classes.json"
    path.write_text("{oops")
    with pytest.raises(ValueError, match="classes.json: cannot read"):
        read_cls_ind(path)


@pytest.mark.parametrize("classes", [(), "disc", ("a", "a"), ("a", "")])
def test_check_classes_refuses_bad_lists(classes):
    with pytest.raises(ValueError, match="metainfo"):
        check_classes(classes, "metainfo['classes']")


def test_palette_is_distinct_and_reproducible():
    palette = default_palette(12)
    assert palette == default_palette(12)
    assert len(set(palette)) == 12
    assert all(0 <= c <= 255 for colour in palette for c in colour)


def test_write_cls_ind_round_trips_through_read_cls_ind(tmp_path):
    path = tmp_path / "classes.json"
    write_cls_ind(path, {"background": 0, "rod": 2, "disc": 1})
    assert path.read_text(encoding="utf-8") == (
        '{\n  "background": 0,\n  "rod": 2,\n  "disc": 1\n}\n'
    )
    assert read_cls_ind(path) == (["disc", "rod"], [1, 2])
