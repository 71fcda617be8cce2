"""``ClassCountCheckHook`` stops a run whose head and dataset disagree on the classes."""

from types import SimpleNamespace

import pytest
from mmdet.registry import HOOKS
from torch import nn

import solov2_plugin  # noqa: F401  (registers the hook)
from solov2_plugin.engine import ClassCountCheckHook


class _Head(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.num_classes = num_classes


class _Model(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.mask_head = _Head(num_classes)


def _runner(num_classes, classes):
    loader = SimpleNamespace(dataset=SimpleNamespace(metainfo={"classes": classes}))
    return SimpleNamespace(
        model=_Model(num_classes), train_dataloader=loader, val_dataloader=loader
    )


def test_registered_under_its_name():
    assert isinstance(HOOKS.build(dict(type="ClassCountCheckHook")), ClassCountCheckHook)


def test_matching_counts_pass():
    ClassCountCheckHook().before_train(_runner(2, ("a", "b")))


def test_a_mismatch_names_the_keys_to_set():
    runner = _runner(5, ("a", "b"))
    with pytest.raises(ValueError) as error:
        ClassCountCheckHook().before_train(runner)
    message = str(error.value)
    assert "model.mask_head.num_classes is 5" in message
    assert "train_dataloader's dataset has 2 classes ('a', 'b')" in message
    assert "classes=\"['a', 'b']\"" in message
    assert "model.mask_head.num_classes=2" in message
    with pytest.raises(ValueError, match="val_dataloader"):
        ClassCountCheckHook().before_val(runner)


def test_a_dataset_without_classes_is_not_checked():
    runner = _runner(5, ())
    ClassCountCheckHook().before_train(runner)
