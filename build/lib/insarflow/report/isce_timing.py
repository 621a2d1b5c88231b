"""Where an ISCE stack's hours go: a Gantt chart of its run-file commands and wall time per step.

Read from the command logs ``logs/isce/<stack>/<step>/<n>.log`` that
:mod:`insarflow.isce.commands` writes: the first line ``# <start> <step> command <n> on <host>,
...`` and the last ``# done in <s> s`` (or ``# FAILED: ... after <s> s``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from insarflow.report.figures import colormap, new_figure, note, save

HEADER = re.compile(r"^# (?P<start>\S+) (?P<step>\S+) command (?P<index>\d+) on (?P<host>[^,]+),")
ENDING = re.compile(
    r"^# (?:done in (?P<done>[0-9.]+) s|FAILED: (?P<why>.*?) after (?P<failed>[0-9.]+) s)"
)


@dataclass(frozen=True)
class CommandSpan:
    step: str
    index: int
    host: str
    start: datetime
    seconds: float | None  # None: still running (or killed without a last line)
    ok: bool

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds or 0.0)


def read_command_log(path: str | Path) -> CommandSpan | None:
    """The span of one command log, or None when the log has no header (never started)."""
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return None
    header = HEADER.match(lines[0]) if lines else None
    if not header:
        return None
    seconds, ok = None, False
    for line in reversed(lines[-5:]):
        ending = ENDING.match(line)
        if ending:
            ok = ending["done"] is not None
            seconds = float(ending["done"] or ending["failed"])
            break
    start = datetime.fromisoformat(header["start"].replace("Z", "+00:00"))
    return CommandSpan(header["step"], int(header["index"]), header["host"], start, seconds, ok)


def stack_spans(plan_file: str | Path, log_dir: str | Path) -> list[CommandSpan]:
    """Spans of every command of the plan that has a log, in run-file order."""
    plan = json.loads(Path(plan_file).read_text())
    spans = []
    for step in plan["steps"]:
        for command in step["commands"]:
            for name in (f"{command['index']:04d}.log", f"{command['index']}.log"):
                span = read_command_log(Path(log_dir) / step["name"] / name)
                if span:
                    spans.append(span)
                    break
    return spans


def _unit(seconds: float) -> tuple[float, str]:
    if seconds >= 3 * 3600:
        return 3600.0, "hours"
    if seconds >= 3 * 60:
        return 60.0, "minutes"
    return 1.0, "seconds"


def _lanes(spans: Sequence[CommandSpan]) -> list[int]:
    """Pack a step's commands into lanes so that commands running at once sit one above another."""
    order = sorted(range(len(spans)), key=lambda i: spans[i].start)
    lane_end: list[datetime] = []
    lanes = [0] * len(spans)
    for i in order:
        for lane, end in enumerate(lane_end):
            if end <= spans[i].start:
                lanes[i], lane_end[lane] = lane, spans[i].end
                break
        else:
            lanes[i] = len(lane_end)
            lane_end.append(spans[i].end)
    return lanes


def _steps(spans: Sequence[CommandSpan]) -> list[str]:
    return list(dict.fromkeys(span.step for span in spans))


def plot_gantt(spans: Sequence[CommandSpan], path: str | Path, title: str) -> None:
    """Commands as bars over time, grouped by step; red: failed, hatched: no end in its log."""
    figure = new_figure(11, 6)
    axes = figure.add_subplot()
    if not spans:
        axes.text(0.5, 0.5, "no command log yet", transform=axes.transAxes, ha="center")
        axes.set_axis_off()
        save(figure, path)
        return
    origin = min(span.start for span in spans)
    total = max((span.end - origin).total_seconds() for span in spans)
    scale, unit = _unit(total)
    cmap = colormap("viridis")  # no red in it: red means failed
    row, ticks, labels = 0, [], []
    steps = _steps(spans)
    for number, step in enumerate(steps):
        members = [span for span in spans if span.step == step]
        lanes = _lanes(members)
        left = np.array([(s.start - origin).total_seconds() for s in members]) / scale
        width = np.array([s.seconds or 0.0 for s in members]) / scale
        y = -(row + np.array(lanes))
        colours = [
            cmap(0.9 * number / max(1, len(steps) - 1))
            if s.ok
            else ("tab:red" if s.seconds is not None else "0.6")
            for s in members
        ]
        axes.barh(y, np.maximum(width, total / scale / 2000), left=left, height=0.8, color=colours)
        depth = max(lanes) + 1
        ticks.append(-(row + (depth - 1) / 2))
        labels.append(f"{step} ({len(members)})")
        row += depth + 1
    axes.set_yticks(ticks, labels, fontsize=8)
    axes.set_xlabel(f"{unit} since the first command started ({origin:%Y-%m-%d %H:%M:%S})")
    axes.grid(alpha=0.3, axis="x")
    failed = sum(1 for s in spans if not s.ok)
    axes.set_title(f"{title}: {len(spans)} commands in {len(steps)} steps, {failed} not ok")
    note(figure, "One bar per run-file command; commands of a step that ran at once are stacked.")
    save(figure, path)


def step_wall_times(spans: Sequence[CommandSpan]) -> list[dict]:
    """Per step: commands, wall time (first start to last end) and summed command time."""
    table = []
    for step in _steps(spans):
        members = [span for span in spans if span.step == step]
        wall = (max(s.end for s in members) - min(s.start for s in members)).total_seconds()
        table.append(
            {
                "step": step,
                "commands": len(members),
                "wall_seconds": wall,
                "command_seconds": sum(s.seconds or 0.0 for s in members),
                "longest_seconds": max(s.seconds or 0.0 for s in members),
            }
        )
    return table


def plot_step_wall_times(spans: Sequence[CommandSpan], path: str | Path, title: str) -> None:
    """Wall time per step next to the summed time of its commands (the parallel speed-up)."""
    table = step_wall_times(spans)
    figure = new_figure(10, max(3.0, 1.2 + 0.35 * len(table)))
    axes = figure.add_subplot()
    if not table:
        axes.text(0.5, 0.5, "no command log yet", transform=axes.transAxes, ha="center")
        axes.set_axis_off()
        save(figure, path)
        return
    scale, unit = _unit(max(max(r["wall_seconds"], r["command_seconds"]) for r in table))
    y = np.arange(len(table))[::-1]
    wall = np.array([r["wall_seconds"] for r in table]) / scale
    summed = np.array([r["command_seconds"] for r in table]) / scale
    axes.barh(y + 0.2, wall, height=0.4, color="tab:blue", label="wall time")
    axes.barh(y - 0.2, summed, height=0.4, color="tab:orange", label="sum of command times")
    for yy, value, entry in zip(y, wall, table, strict=True):
        axes.text(
            value, yy + 0.2, f" {value:.3g} ({entry['commands']} cmd)", va="center", fontsize=7
        )
    axes.set_yticks(y, [r["step"] for r in table], fontsize=8)
    axes.set_xlabel(unit)
    axes.grid(alpha=0.3, axis="x")
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    total = sum(r["wall_seconds"] for r in table) / scale
    axes.set_title(f"{title}: wall time per step (sum {total:.3g} {unit})")
    save(figure, path)
