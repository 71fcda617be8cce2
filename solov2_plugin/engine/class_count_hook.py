"""A hook that stops a run whose model and dataset disagree on the number of classes."""

from __future__ import annotations

from typing import Iterator, Optional, Tuple

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn


@HOOKS.register_module()
class ClassCountCheckHook(Hook):
    """Raise before training, validation or testing when a head's ``num_classes``
    differs from the number of classes of the dataset it runs on.

    Without it, a 5-class head trains silently on a 2-class dataset (three
    classes are never positive) and a 2-class head fails deep inside the
    loss on a 5-class one. The message names the config keys to set.
    """

    priority = "VERY_HIGH"

    def before_train(self, runner) -> None:
        """Check the training set."""
        self._check(runner, runner.train_dataloader, "train_dataloader")

    def before_val(self, runner) -> None:
        """Check the validation set."""
        self._check(runner, runner.val_dataloader, "val_dataloader")

    def before_test(self, runner) -> None:
        """Check the test set."""
        self._check(runner, runner.test_dataloader, "test_dataloader")

    def _check(self, runner, dataloader, dataloader_key: str) -> None:
        classes = _dataset_classes(dataloader)
        if classes is None:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for name, num_classes in _class_counts(model):
            if num_classes != len(classes):
                raise ValueError(
                    f"model.{name}.num_classes is {num_classes} but {dataloader_key}'s dataset "
                    f"has {len(classes)} classes {tuple(classes)}. With this plugin's configs set "
                    f'both at once with --cfg-options classes="{list(classes)}", or set '
                    f"model.{name}.num_classes={len(classes)}."
                )


def _dataset_classes(dataloader) -> Optional[Tuple[str, ...]]:
    """Class names of a dataloader's dataset, None when it has none."""
    dataset = getattr(dataloader, "dataset", None)
    metainfo = getattr(dataset, "metainfo", None) or {}
    classes = metainfo.get("classes")
    return tuple(classes) if classes else None


def _class_counts(model: nn.Module) -> Iterator[Tuple[str, int]]:
    """(name, num_classes) of every sub-module of ``model`` that classifies."""
    for name, module in model.named_modules():
        num_classes = getattr(module, "num_classes", None)
        if name and isinstance(num_classes, int) and not name.endswith("rpn_head"):
            yield name, num_classes
