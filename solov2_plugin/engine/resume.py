"""Pick the checkpoint ``--resume auto`` resumes from, skipping torn or corrupt files.

mmengine's auto-resume trusts ``<work_dir>/last_checkpoint`` blindly: if the file it names
is truncated (a kill during a non-atomic save, a full disk, a partial copy) the run dies
while loading it. :func:`find_resume_checkpoint` checks the candidates in order - the file
``last_checkpoint`` names, then every ``epoch_N.pth`` / ``iter_N.pth`` in the work dir,
newest first - by loading each (``weights_only=True``), warns naming every file that does not
load and why, and returns the first that does.

A file refused because it holds pickled code (:class:`UnsafeCheckpointError`) is not
skipped silently: it stops the search, since falling back past it could hide tampering.
"""

from __future__ import annotations

import logging
import os
import os.path as osp
import re
from typing import List, Optional

from mmengine.logging import print_log

from .atomic_checkpoint_hook import LAST_CHECKPOINT
from .checkpoint import UnsafeCheckpointError, load_from_local_safely

CHECKPOINT_NAME = re.compile(r"^(?:epoch|iter)_(\d+)\.pth$")


class NoLoadableCheckpointError(ValueError):
    """A work dir holds checkpoints but none of them loads."""


def checkpoint_problem(path: str) -> Optional[str]:
    """Why the checkpoint at ``path`` cannot be resumed from, or None when it loads.

    Args:
        path: A checkpoint file.

    Returns:
        None when the file loads as a dict with ``state_dict`` and ``meta``; otherwise one
        line saying what is wrong (missing, truncated, not a checkpoint).

    Raises:
        UnsafeCheckpointError: The file holds objects outside the safe allow-list.
    """
    if not osp.isfile(path):
        return "no such file"
    try:
        checkpoint = load_from_local_safely(path, map_location="cpu")
    except UnsafeCheckpointError:
        raise
    except Exception as error:  # CorruptCheckpointError, or whatever else torch raises
        cause = error.__cause__ or error  # torch's own error says what is torn
        first_line = (str(cause).strip().splitlines() or [""])[0][:200]
        return f"{type(cause).__name__}: {first_line}" if first_line else type(cause).__name__
    if not isinstance(checkpoint, dict) or not {"state_dict", "meta"} <= set(checkpoint):
        return "not a training checkpoint (no 'state_dict' and 'meta')"
    return None


def _named_by_last_checkpoint(work_dir: str) -> Optional[str]:
    """The path ``<work_dir>/last_checkpoint`` names, or None (missing or empty)."""
    record = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(record):
        return None
    with open(record, encoding="utf-8", errors="replace") as handle:
        named = handle.read().strip()
    return named or None


def resume_candidates(work_dir: str) -> List[str]:
    """The checkpoints a resume may use, in the order to try them.

    Args:
        work_dir: The training's work dir.

    Returns:
        list[str]: The file ``last_checkpoint`` names (if any), then ``epoch_N.pth`` and
        ``iter_N.pth`` files of ``work_dir`` by modification time and then N, newest first.
        Temporary files of interrupted atomic saves (``.epoch_N.pth.tmp-PID``) never match.
    """
    candidates: List[str] = []
    named = _named_by_last_checkpoint(work_dir)
    if named is not None:
        candidates.append(named)
    if osp.isdir(work_dir):
        found = []
        for name in os.listdir(work_dir):
            match = CHECKPOINT_NAME.match(name)
            path = osp.join(work_dir, name)
            if match and osp.isfile(path):
                found.append((osp.getmtime(path), int(match.group(1)), path))
        for _, _, path in sorted(found, reverse=True):
            if not any(osp.abspath(path) == osp.abspath(c) for c in candidates):
                candidates.append(path)
    return candidates


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The newest checkpoint of ``work_dir`` that loads, warning about each one that does not.

    Args:
        work_dir: The training's work dir.

    Returns:
        str | None: The checkpoint to resume from; None when the work dir holds none (a
        fresh start).

    Raises:
        NoLoadableCheckpointError: Checkpoints exist but none loads.
        UnsafeCheckpointError: A candidate holds objects outside the safe allow-list.
    """
    candidates = resume_candidates(work_dir)
    problems = []
    for path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            if problems:
                print_log(
                    f"Resuming from '{path}', the newest checkpoint that loads.",
                    logger="current",
                    level=logging.WARNING,
                )
            return path
        problems.append(f"'{path}' ({problem})")
        print_log(
            f"Checkpoint '{path}' cannot be resumed from ({problem}); trying the previous one.",
            logger="current",
            level=logging.WARNING,
        )
    if not candidates:
        return None
    raise NoLoadableCheckpointError(
        f"No checkpoint in '{work_dir}' can be resumed from: {'; '.join(problems)}. Delete "
        "the broken files to start afresh, or pass --resume PATH with a good checkpoint."
    )
