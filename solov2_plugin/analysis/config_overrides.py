"""Turning suggested settings into ``--cfg-options`` and a config file.

mmengine evaluates a config once: ``dict(type='Resize', scale=input_size)`` is
a plain tuple afterwards, so overriding the top-level ``input_size`` alone
changes no pipeline. With the base config at hand, :func:`with_input_size`
adds one key per transform ``scale`` that equals the base's ``input_size``
(``train_dataloader.dataset.pipeline.2.scale``...), which
``Config.merge_from_dict`` (and so ``tools/train.py --cfg-options``) accepts.
A child config file cannot patch one item of a list, so :func:`config_text`
writes such lists whole, copied from the base with the new values in.
"""

import keyword
import shlex
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from mmengine.config import Config

ConfigSource = Union[Config, str, Path]
#: The head whose levels the suggestion configures.
HEAD_TYPE = "SOLOv2DynamicHead"
_LINE = 96


def load_config(base: ConfigSource) -> Config:
    """The base config, loaded from a path when needed.

    Raises:
        FileNotFoundError: If the file does not exist (the message says what to pass).
    """
    if isinstance(base, Config):
        return base
    if not Path(base).is_file():
        raise FileNotFoundError(
            f"{base}: base config not found; pass an existing config, e.g. "
            "configs/solov2_demo.py or configs/solov2_custom.py."
        )
    return Config.fromfile(str(base))


def _name(base: ConfigSource) -> str:
    """A config's file name for messages."""
    return str(base.filename) if isinstance(base, Config) else str(base)


def _walk(node: Any, path: str) -> Iterator[Tuple[str, Any]]:
    """Every ``(dotted path, value)`` below ``node`` (dicts by key, lists by index)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield f"{path}{key}", value
            yield from _walk(value, f"{path}{key}.")
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield f"{path}{index}", value
            yield from _walk(value, f"{path}{index}.")


def pipeline_scale_keys(cfg: Config, old_scale: Sequence[int]) -> List[str]:
    """Dotted keys of the transform ``scale`` values equal to ``old_scale`` in the dataloaders.

    Args:
        cfg (Config): A loaded config.
        old_scale (Sequence[int]): Its ``input_size``.

    Returns:
        list[str]: e.g. ``['train_dataloader.dataset.pipeline.2.scale', ...]``.
    """
    wanted = tuple(old_scale)
    keys = []
    for name in cfg:
        if not name.endswith("_dataloader"):
            continue
        for path, value in _walk(cfg[name], f"{name}."):
            if (
                path.endswith(".scale")
                and isinstance(value, (list, tuple))
                and tuple(value) == wanted
            ):
                keys.append(path)
    return keys


def with_input_size(
    model_options: Callable[[int], Dict[str, Any]],
    input_size: Tuple[int, int],
    base: Optional[ConfigSource] = None,
) -> Dict[str, Any]:
    """``input_size``, the model keys and, given a base, its pipelines' scale keys.

    Args:
        model_options (Callable[[int], dict]): Model keys for a number of
            backbone levels feeding the neck.
        input_size (tuple[int, int]): The new ``(w, h)`` scale.
        base (Config | str, optional): The config the options are for.

    Returns:
        dict: Dotted keys to values (``model.mask_head.level_resize='none'``
        too when the base resizes its levels as mmdet does).

    Raises:
        FileNotFoundError: If ``base`` is a path that does not exist.
        ValueError: If the base's mask head is not a ``SOLOv2DynamicHead``.
    """
    options: Dict[str, Any] = {"input_size": tuple(input_size)}
    if base is None:
        options.update(model_options(4))
        return options
    cfg = load_config(base)
    model = cfg.get("model", {})
    head = model.get("mask_head", {})
    if head.get("type") != HEAD_TYPE:
        raise ValueError(
            f"{_name(base)}: the suggestion is for a {HEAD_TYPE} mask head (as in "
            f"configs/solov2_x50.py, solov2_demo.py, solov2_custom.py), got "
            f"{head.get('type')!r}; pass one of those configs (or one based on them) as base."
        )
    options.update(model_options(len(model.get("neck", {}).get("in_channels", [0] * 4))))
    if head.get("level_resize", "mmdet") != "none":
        # The suggested strides are those of the FPN levels used as they come.
        options["model.mask_head.level_resize"] = "none"
    old = cfg.get("input_size")
    if isinstance(old, (list, tuple)):
        for key in pipeline_scale_keys(cfg, old):
            options[key] = tuple(input_size)
    return options


def format_value(value: Any) -> str:
    """A value as ``DictAction`` parses it back: tuples and lists without spaces."""
    if isinstance(value, tuple):
        inner = ",".join(format_value(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ",".join(format_value(item) for item in value) + "]"
    return str(value)


def cfg_options_line(options: Mapping[str, Any]) -> str:
    """Shell-quoted ``key=value`` words to put after ``--cfg-options``."""
    return " ".join(shlex.quote(f"{key}={format_value(value)}") for key, value in options.items())


def _is_name(key: Any) -> bool:
    return isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)


def python_text(value: Any, indent: int = 0) -> str:
    """Python source for a config value: ``dict(...)`` calls, one item a line when long."""
    if isinstance(value, Mapping):
        names = all(_is_name(key) for key in value)
        items = [(f"{key}=" if names else f"{key!r}: ", item) for key, item in value.items()]
        opener, closer = ("dict(", ")") if names else ("{", "}")
    elif isinstance(value, (list, tuple)):
        items = [("", item) for item in value]
        opener, closer = ("[", "]") if isinstance(value, list) else ("(", ")")
    else:
        return repr(value)
    flat = [prefix + python_text(item) for prefix, item in items]
    trailing = "," if isinstance(value, tuple) and len(value) == 1 else ""
    one_line = opener + ", ".join(flat) + trailing + closer
    if indent + len(one_line) <= _LINE or not items:
        return one_line
    pad = " " * (indent + 4)
    lines = [pad + prefix + python_text(item, indent + 4) + "," for prefix, item in items]
    return opener + "\n" + "\n".join(lines) + "\n" + " " * indent + closer


def _nested_overrides(options: Mapping[str, Any], merged: Config) -> Dict[str, Any]:
    """Dotted keys as nested dicts; a key through a list index sets that whole list."""
    tree: Dict[str, Any] = {}
    for key, value in options.items():
        parts = key.split(".")
        index = next((i for i, part in enumerate(parts) if part.isdigit()), None)
        if index is not None:
            parts = parts[:index]
            value = merged
            for part in parts:
                value = value[part]
            value = _plain(value)
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


def _plain(value: Any) -> Any:
    """ConfigDicts and lists of them as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    return value


def config_text(
    options: Mapping[str, Any],
    base: ConfigSource,
    base_ref: Optional[str] = None,
    header: Sequence[str] = (),
) -> str:
    """A config file that applies ``options`` on top of ``base``.

    Args:
        options (Mapping[str, Any]): Dotted keys, as from :func:`with_input_size`.
        base (Config | str): The base config.
        base_ref (str, optional): What ``_base_`` names; defaults to ``base``
            when it is a path (pass one relative to the written file).
        header (Sequence[str]): Comment lines put on top.

    Returns:
        str: The config text; loading it equals ``base`` merged with ``options``.

    Raises:
        ValueError: If ``base`` is a loaded Config and ``base_ref`` is missing.
    """
    cfg = load_config(base)
    if base_ref is None:
        if isinstance(base, Config):
            raise ValueError("config_text: give base_ref, the path _base_ should name.")
        base_ref = str(base)
    merged = Config(_plain(cfg.to_dict()))
    merged.merge_from_dict(dict(options))
    lines = [f"# {line}" for line in header]
    lines += [
        "# Written by tools/analyze_dataset.py from the data's object sizes.",
        f"_base_ = [{base_ref!r}]",
        "",
    ]
    for key, value in _nested_overrides(options, merged).items():
        lines.append(f"{key} = {python_text(value, 0)}")
    return "\n".join(lines) + "\n"
