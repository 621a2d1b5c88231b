"""The status board file: every HyP3 job of one account as insarflow last listed it.

A cache (``.insarflow/hyp3/poll/<account>.jsonl``; the truth is HyP3 and the ledger), shared
by the polling rounds, the status target and the report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from insarflow.files import JsonLinesTail, write_json_atomic

# A board is a log: one JSON line per poll holding the jobs whose status that poll changed (a
# compaction writes them all on one line). Rewriting the whole board after every poll wrote 10 MB
# at 10,000 jobs, and took a tenth of a second before the round could act on the listing.
BOARD_SUFFIX = ".jsonl"
COMPACT_AFTER_LINES = 64


class BoardLog:
    """One account's status board file, replayed on read and appended to after each poll.

    ``read`` parses only what was appended since this object last read the file, and never a
    torn last line (left by a killed writer); the next ``append`` cuts such a line off.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.polled_at = 0.0
        self.jobs: dict[str, dict[str, Any]] = {}
        self._tail = JsonLinesTail(path)
        self._lines = 0

    def read(self) -> BoardLog:
        """Bring the board up to date with its file; returns itself."""
        restarted, polls = self._tail.read()
        if restarted:  # compacted, or deleted (and maybe made anew)
            self.polled_at, self.jobs, self._lines = 0.0, {}, 0
        for poll in polls:
            self.polled_at = poll.get("polled_at", self.polled_at)
            self.jobs.update(poll.get("jobs", {}))
        self._lines += len(polls)
        return self

    def append(self, polled_at: float, changed: Mapping[str, dict[str, Any]]) -> None:
        """Record one poll; call under the account's lock, right after ``read``."""
        self.polled_at = polled_at
        self.jobs.update(changed)
        if 0 < self._lines < COMPACT_AFTER_LINES:
            line = json.dumps({"polled_at": polled_at, "jobs": changed}).encode() + b"\n"
            try:
                with self.path.open("r+b") as handle:
                    handle.truncate(self._tail.offset)
                    handle.seek(self._tail.offset)
                    handle.write(line)
            except FileNotFoundError:
                pass  # deleted since read: written whole below
            else:
                self._tail.read()  # this object's own line: already applied
                self._lines += 1
                return
        # A cache: no fsync (a torn board is rebuilt by the next poll).
        write_json_atomic(
            self.path, {"polled_at": polled_at, "jobs": self.jobs}, indent=None, fsync=False
        )
        self._tail.read()
        self._lines = 1


def read_board_file(path: str | Path) -> BoardLog:
    """A status board as it is on disk (the report reads them)."""
    return BoardLog(Path(path)).read()
