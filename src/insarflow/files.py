"""Writing state files so that a reader (or a crash) never sees half of one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json_atomic(
    path: str | Path, data: Any, *, indent: int | None = 1, fsync: bool = True
) -> None:
    """Write JSON to a temporary file, fsync it, then rename it over ``path``.

    ``indent=None`` writes it compact with json's C encoder (many times faster for large
    files). ``fsync=False`` for a file inside a directory that is itself renamed into place
    when whole: what can be fetched again need not cost an fsync (it flushes the file
    system's journal).
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        handle = temporary.open("w")
    except FileNotFoundError:
        # Made only when missing: a mkdir of an existing directory still takes its lock,
        # which threads writing thousands of files into one directory contend for.
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = temporary.open("w")
    with handle:
        handle.write(json.dumps(data, indent=indent, sort_keys=True) + "\n")
        if fsync:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temporary, path)


class JsonLinesTail:
    """Follows a JSON-lines file that others append to: each ``read`` returns the records of
    the whole lines appended since the last one.

    A line being written (or torn by a crash) is read once it is complete; a torn line that a
    later append completes does not parse and is skipped. ``restarted`` tells the caller to
    drop what it built from earlier records: the file was replaced (a new inode), shortened or
    deleted, and the records returned are the new file's from its start.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.offset = 0  # bytes of whole lines read
        self._identity: tuple[int, int] | None = None

    def read(self) -> tuple[bool, list[Any]]:
        """(restarted, records appended since the last read)."""
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            restarted = self._identity is not None or self.offset > 0
            self._identity, self.offset = None, 0
            return restarted, []
        with handle:
            info = os.fstat(handle.fileno())
            identity = (info.st_dev, info.st_ino)
            restarted = identity != self._identity or info.st_size < self.offset
            if restarted:
                self._identity, self.offset = identity, 0
            handle.seek(self.offset)
            appended = handle.read()
        whole = appended[: appended.rfind(b"\n") + 1]
        self.offset += len(whole)
        records = []
        for line in whole.splitlines():
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        return restarted, records
