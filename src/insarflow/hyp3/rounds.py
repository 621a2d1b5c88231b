"""Polling rounds: how the workflow learns, pair by pair, that a HyP3 job has succeeded.

Snakemake cannot start a job on an event, and a per-pair "wait" job would hold one of the
scheduler's few local workers for as long as its HyP3 job runs: a handful of slow jobs would
then block the downloads of every other pair. Instead a chain of checkpoint jobs polls all
unsettled pairs at once. Round n ends as soon as some jobs have succeeded and writes them to
``<rounds>/round-<n>.json``; their downloads start right away while round n+1 polls the rest.
Each pair's download depends on the round that saw its job succeed (``RoundIndex.locate``).

A round file holds the finished job records of the pairs it settled and the cumulative list
of settled pairs, so round n+1 needs only round n. Rounds live in a directory per set of job
options (``generation``): changed options mean new jobs, so old rounds are never reused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROUND_PREFIX = "round-"


def round_path(rounds_dir: str | Path, index: int) -> Path:
    return Path(rounds_dir) / f"{ROUND_PREFIX}{index}.json"


def read_round(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def settled_before(previous: str | Path | None) -> set[str]:
    """Pairs settled by every round up to and including ``previous`` (None: before round 0)."""
    return set(read_round(previous)["settled"]) if previous else set()


class RoundIndex:
    """Which round settled which pair; re-reads only round files that are new or changed.

    Snakemake calls the input function of every waiting download after each round, so this
    is kept cheap: one directory scan per call, and each round file parsed once.
    """

    def __init__(self, rounds_dir: str | Path) -> None:
        self.rounds_dir = Path(rounds_dir)
        self._parsed: dict[str, tuple[int, frozenset[str]]] = {}  # name -> (mtime_ns, pairs)
        self._where: dict[str, int] = {}

    def _scan(self) -> int:
        """Refresh the index; returns how many consecutive rounds (0, 1, ...) exist."""
        indices: set[int] = set()
        changed = False
        try:
            entries = list(os.scandir(self.rounds_dir))
        except FileNotFoundError:
            entries = []
        for entry in entries:
            name = entry.name
            if not (name.startswith(ROUND_PREFIX) and name.endswith(".json")):
                continue
            number = name[len(ROUND_PREFIX) : -len(".json")]
            if not number.isdigit():
                continue
            indices.add(int(number))
            mtime = entry.stat().st_mtime_ns
            if self._parsed.get(name, (None,))[0] != mtime:
                try:
                    pairs = frozenset(read_round(entry.path)["succeeded"])
                except (OSError, ValueError, KeyError):
                    pairs = frozenset()  # half-written or foreign: Snakemake reruns that round
                self._parsed[name] = (mtime, pairs)
                changed = True
        present = {entry.name for entry in entries}
        for gone in [name for name in self._parsed if name not in present]:
            del self._parsed[gone]
            changed = True
        if changed:
            self._where = {}
            for name, (_, pairs) in sorted(
                self._parsed.items(), key=lambda item: -int(item[0][len(ROUND_PREFIX) : -5])
            ):
                index = int(name[len(ROUND_PREFIX) : -len(".json")])
                self._where.update(dict.fromkeys(pairs, index))
        count = 0
        while count in indices:
            count += 1
        return count

    def locate(self, pair_id: str) -> int:
        """The round that settled the pair, or the first round not yet run (where to look)."""
        count = self._scan()
        where = self._where.get(pair_id)
        return where if where is not None and where < count else count

    def settled_in(self, path: str | Path, pair_id: str) -> bool:
        """Whether the round file at ``path`` settled the pair (checked against the file)."""
        self._scan()
        return pair_id in self._parsed.get(Path(path).name, (None, frozenset()))[1]
