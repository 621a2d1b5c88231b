"""Parse topsStack ``run_files/run_NN_*`` into the commands insarflow runs one job each.

A run file is a shell script in which every line is one command, written as
``<text_cmd><command>`` and, with ``--num_proc N > 1``, followed by `` &`` with a ``wait`` and a
blank line after every N lines. When the line count is not a multiple of N the last batch ends
with ``&`` and no ``wait``, so ``bash run_NN`` returns while commands still run, and ``wait``
hides failures either way. Here each command is stripped of the ``text_cmd`` prefix and the
trailing ``&``; ``wait``, comments and blank lines are dropped.

Every line is one command. The lines of a run file are mostly independent of each other; the
exception (in ``computeIon``, a ``mergeSwathIon.py`` line reads what the per-swath
``computeIon.py`` lines before it wrote) is found from the files they read and write, like
every other dependency (:mod:`insarflow.isce.dependencies`).

Commands of the interferogram network (one per pair: generate_burst_igram, merge_burst_igram,
filter_coherence, unwrap, dense_offsets) carry their pair, so only requested pairs are run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

RUN_FILE_NAME = re.compile(r"^run_(?P<number>\d+)_(?P<name>[A-Za-z0-9_]+)$")
# Config files written per interferogram-network pair (Stack.py; denseOffset for -W offset).
_PAIR_CONFIG = re.compile(
    r"config_(?:generate_igram|merge_igram|igram_filt_coh|igram_unw|denseOffset)_(\d{8})_(\d{8})(?:\s|$)"
)


@dataclass
class Command:
    """One job: one run-file line (``lines`` holds it; plans of format 1 grouped several)."""

    index: int
    lines: list[str]
    pair: tuple[str, str] | None = None  # set for interferogram-network commands

    def to_json(self) -> dict:
        return {
            "index": self.index,
            "lines": self.lines,
            "pair": list(self.pair) if self.pair else None,
        }


@dataclass
class Step:
    name: str  # run file name, e.g. run_07_pairs_misreg
    commands: list[Command] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """The step name without its number, e.g. pairs_misreg (the key of isce.step_resources)."""
        return step_kind(self.name)


def step_kind(run_file_name: str) -> str:
    match = RUN_FILE_NAME.match(run_file_name)
    return match["name"] if match else run_file_name


def command_lines(text: str, text_cmd: str = "") -> list[str]:
    """The commands of one run file, in order, without text_cmd, ``&``, ``wait`` or blanks."""
    prefix = text_cmd.strip()
    commands = []
    for raw in text.splitlines():
        line = raw.strip()
        if prefix and line.startswith(prefix):
            line = line[len(prefix) :].strip()
        if line.endswith("&") and not line.endswith("&&"):
            line = line[:-1].rstrip()
        if not line or line.startswith("#") or line == "wait":
            continue
        commands.append(line)
    return commands


def pair_of(line: str) -> tuple[str, str] | None:
    match = _PAIR_CONFIG.search(line)
    return (match[1], match[2]) if match else None


def parse_step(name: str, text: str, text_cmd: str = "") -> Step:
    lines = command_lines(text, text_cmd)
    step = Step(name=name)
    step.commands = [
        Command(index=number, lines=[line], pair=pair_of(line))
        for number, line in enumerate(lines, start=1)
    ]
    return step


def parse_run_files(run_dir: str | Path, text_cmd: str = "") -> list[Step]:
    """Every ``run_NN_*`` in ``run_dir`` (ordered by NN) with its commands."""
    found = []
    for path in Path(run_dir).iterdir():
        match = RUN_FILE_NAME.match(path.name)
        if match and path.is_file():
            found.append((int(match["number"]), path))
    return [parse_step(path.name, path.read_text(), text_cmd) for _, path in sorted(found)]
