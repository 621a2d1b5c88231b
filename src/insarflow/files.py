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
