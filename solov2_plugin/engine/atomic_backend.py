"""Atomic file writes, and an mmengine file backend that saves checkpoints with them.

A checkpoint written in place is torn if the process dies during the write, and a resumed
run then finds a truncated file under the checkpoint's final name. :func:`atomic_write`
writes to a temporary file in the same folder (``.<name>.tmp-<pid>``), flushes and fsyncs
it, then renames it over the final name with :func:`os.replace` (atomic on POSIX and
Windows), and fsyncs the folder so the rename survives a power cut. A reader sees the old
file or the new one, never a part; a kill leaves at most the temporary file, which no
checkpoint search matches.

:class:`AtomicLocalBackend` is mmengine's ``LocalBackend`` with ``put`` and ``put_text``
made atomic, registered under the backend name ``'atomic_local'``: a ``CheckpointHook``
with ``backend_args=dict(backend='atomic_local')`` saves through it.
"""

from __future__ import annotations

import os
import os.path as osp
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

ATOMIC_BACKEND = "atomic_local"


def _fsync_folder(folder: str) -> None:
    """Flush a folder's entries (the rename) to disk where the OS allows it."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open folders
        return
    try:
        os.fsync(descriptor)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(descriptor)


def temporary_path(filepath: Union[str, Path]) -> str:
    """The temporary file :func:`atomic_write` writes ``filepath`` through.

    Args:
        filepath: The final path.

    Returns:
        str: ``<folder>/.<name>.tmp-<pid>``, hidden and unique to this process.
    """
    folder, name = osp.split(osp.abspath(filepath))
    return osp.join(folder, f".{name}.tmp-{os.getpid()}")


def atomic_write(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` so that readers never see a partial file.

    Args:
        data: The file's content.
        filepath: The final path; its folder is created when missing.
    """
    filepath = osp.abspath(filepath)
    folder = osp.dirname(filepath)
    os.makedirs(folder, exist_ok=True)
    temporary = temporary_path(filepath)
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, filepath)
    except BaseException:
        if osp.exists(temporary):
            os.remove(temporary)
        raise
    _fsync_folder(folder)


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes are atomic (see the module docstring)."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically.

        Args:
            obj: The bytes to write.
            filepath: The final path.
        """
        atomic_write(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = "utf-8") -> None:
        """Write text to ``filepath`` atomically.

        Args:
            obj: The text to write.
            filepath: The final path.
            encoding: The text's encoding.
        """
        atomic_write(obj.encode(encoding), filepath)
