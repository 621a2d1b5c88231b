"""Polling rounds: how the workflow learns, pair by pair, that a HyP3 job has succeeded.

Snakemake cannot start a job on an event, and a per-pair "wait" job would hold one of the
scheduler's few local workers for as long as its HyP3 job runs: a handful of slow jobs would
then block the downloads of every other pair. Instead a chain of checkpoint jobs polls all
unsettled pairs at once and puts each product in place as soon as its job succeeds. Round n ends
once some are in place and it has polled long enough (``run.round_minimum_seconds``), and writes
them to ``<rounds>/round-<n>.json``; round n+1 polls the rest. Each pair's ``hyp3_product`` job
depends on the round that saw its job succeed (``RoundIndex.locate``).

A round file holds the finished job records of the pairs it settled and the cumulative list
of settled pairs, so round n+1 needs only round n. Rounds live in a directory per set of job
options (``generation``): changed options mean new jobs, so old rounds are never reused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from insarflow.paths import ROUND_FILE_PREFIX as ROUND_PREFIX


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
    is kept cheap: one directory scan per ``locate``, one stat per ``settled_in``, and each
    round file parsed once.
    """

    def __init__(self, rounds_dir: str | Path) -> None:
        self.rounds_dir = Path(rounds_dir)
        self._parsed: dict[int, tuple[int, frozenset[str]]] = {}  # index -> (mtime_ns, pairs)
        self._where: dict[str, int] | None = {}  # pair -> earliest round; None: rebuild

    def _pairs(self, index: int, path: str | Path, mtime_ns: int) -> frozenset[str]:
        """The pairs round ``index`` settled, parsing its file only when it changed."""
        known = self._parsed.get(index)
        if known is None or known[0] != mtime_ns:
            try:
                pairs = frozenset(read_round(path)["succeeded"])
            except (OSError, ValueError, KeyError):
                pairs = frozenset()  # half-written or foreign: Snakemake reruns that round
            self._parsed[index] = (mtime_ns, pairs)
            self._where = None
        return self._parsed[index][1]

    def locate(self, pair_id: str) -> int:
        """The round that settled the pair, or the first round not yet run (where to look)."""
        try:
            entries = list(os.scandir(self.rounds_dir))
        except FileNotFoundError:
            entries = []
        present: set[int] = set()
        for entry in entries:
            number = entry.name.removeprefix(ROUND_PREFIX).removesuffix(".json")
            if entry.name.startswith(ROUND_PREFIX) and number.isdigit():
                present.add(int(number))
                self._pairs(int(number), entry.path, entry.stat().st_mtime_ns)
        for gone in self._parsed.keys() - present:
            del self._parsed[gone]
            self._where = None
        if self._where is None:
            self._where = {}
            for index in sorted(self._parsed, reverse=True):
                self._where.update(dict.fromkeys(self._parsed[index][1], index))
        count = 0
        while count in present:
            count += 1
        where = self._where.get(pair_id)
        return where if where is not None and where < count else count

    def settled_in(self, index: int, pair_id: str) -> bool:
        """Whether round ``index`` (whose file exists) settled the pair."""
        path = round_path(self.rounds_dir, index)
        return pair_id in self._pairs(index, path, path.stat().st_mtime_ns)
