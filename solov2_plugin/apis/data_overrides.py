"""Carry top-level ``data_root`` and ``classes`` overrides to every place derived from them.

mmengine evaluates a config file once: ``data_root=data_root + 'train'`` and
``num_classes=len(classes)`` are plain values afterwards, so
``--cfg-options data_root=... classes=...`` would change the two top-level
variables and nothing that was computed from them. :func:`merge_cfg_options`
merges the options and then rewrites the derived values as well.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence, Tuple

from mmengine.config import Config

_ROOT_KEYS = ("data_root", "ann_file")


def merge_cfg_options(cfg: Config, options: Optional[Mapping[str, Any]]) -> Config:
    """Merge ``--cfg-options`` into ``cfg``, following ``data_root`` and ``classes``.

    Besides ``cfg.merge_from_dict(options)``:

    - a new top-level ``data_root`` replaces the old one at the start of every
      ``data_root`` and ``ann_file`` value in the config (datasets, dataset
      wrappers, evaluators), so ``data_root + 'train'`` becomes
      ``new_root + 'train'``;
    - a new top-level ``classes`` (a sequence of names, or one name) replaces
      every ``metainfo.classes`` equal to the old classes, and every
      ``num_classes`` under ``model`` equal to the old number of classes.

    A key given explicitly in ``options`` (e.g. ``model.mask_head.num_classes``)
    is never overwritten.

    Args:
        cfg (Config): A loaded config; changed in place.
        options (Mapping, optional): Parsed ``--cfg-options`` (dotted keys).

    Returns:
        Config: ``cfg``.

    Raises:
        ValueError: ``classes`` is empty or holds a non-string name.
    """
    if not options:
        return cfg
    old_root, old_classes = cfg.get("data_root"), cfg.get("classes")
    cfg.merge_from_dict(dict(options))
    explicit = set(options)
    if "data_root" in options and isinstance(old_root, str) and old_root:
        new_root = str(cfg.data_root)
        _rewrite(
            cfg._cfg_dict,
            "",
            explicit,
            lambda key, value: (
                key in _ROOT_KEYS and isinstance(value, str) and value.startswith(old_root)
            ),
            lambda value: new_root + value[len(old_root) :],
        )
    if "classes" in options and old_classes is not None:
        new_classes = _as_classes(cfg.classes)
        cfg.classes = new_classes
        old = tuple(old_classes)
        _rewrite(
            cfg._cfg_dict,
            "",
            explicit,
            lambda key, value: (
                key == "classes" and isinstance(value, (list, tuple)) and tuple(value) == old
            ),
            lambda value: new_classes,
        )
        if "model" in cfg:
            _rewrite(
                cfg.model,
                "model.",
                explicit,
                lambda key, value: key == "num_classes" and value == len(old),
                lambda value: len(new_classes),
            )
    return cfg


def _as_classes(value: Any) -> Tuple[str, ...]:
    """Class names from an option value: one name or a sequence of names."""
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ValueError(
            f"--cfg-options classes=... must be one or more class names, got {value!r}; "
            "e.g. classes=\"['particle','bubble']\"."
        )
    return names


def _rewrite(
    node: Any,
    path: str,
    explicit: set,
    matches: Callable[[str, Any], bool],
    replace: Callable[[Any], Any],
) -> None:
    """Replace, depth first, every ``node[key]`` for which ``matches(key, value)``.

    Keys whose dotted path is in ``explicit`` are left alone.
    """
    if isinstance(node, Mapping):
        for key, value in list(node.items()):
            key_path = f"{path}{key}"
            if key_path not in explicit and matches(key, value):
                node[key] = replace(value)
            else:
                _rewrite(value, f"{key_path}.", explicit, matches, replace)
    elif isinstance(node, Sequence) and not isinstance(node, str):
        for index, item in enumerate(node):
            _rewrite(item, f"{path}{index}.", explicit, matches, replace)
