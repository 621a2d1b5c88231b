"""The pair network: dates against perpendicular baseline, and the temporal-baseline histogram.

Per-date baselines are solved from the pairs' baselines (each pair's is the secondary's minus the
reference's) by least squares, with the first date of each connected part of the network at
0 m, as MintPy does for its ``pbaseHistory``. Until every pair has a baseline (HyP3 products not
downloaded yet, or an ISCE stack, whose baselines are not read), the graph shows dates only and
says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num

from insarflow.report.figures import new_figure, note, save


@dataclass(frozen=True)
class NetworkPair:
    pair_id: str
    reference: date
    secondary: date
    baseline: float | None = None  # perpendicular baseline (m), secondary minus reference

    @property
    def days(self) -> int:
        return (self.secondary - self.reference).days


def parse_date(value: str) -> date:
    return datetime.strptime(value[:8], "%Y%m%d").date()


def network_pairs(
    pair_dates: Mapping[str, Sequence[str]], baselines: Mapping[str, float | None] | None = None
) -> list[NetworkPair]:
    """Pairs from ``pair id -> (reference date, secondary date)`` (YYYYMMDD) and known baselines."""
    baselines = baselines or {}
    pairs = []
    for pair_id, (first, second) in pair_dates.items():
        reference, secondary = sorted((parse_date(first), parse_date(second)))
        pairs.append(NetworkPair(pair_id, reference, secondary, baselines.get(pair_id)))
    return sorted(pairs, key=lambda p: (p.reference, p.secondary, p.pair_id))


def date_baselines(pairs: Iterable[NetworkPair]) -> dict[date, float]:
    """Per-date perpendicular baseline (m), least squares over the pairs; needs every baseline."""
    pairs = list(pairs)
    dates = sorted({d for p in pairs for d in (p.reference, p.secondary)})
    column = {d: i for i, d in enumerate(dates)}
    # Union-find over dates: one anchor (0 m) per connected part of the network.
    parent = list(range(len(dates)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for p in pairs:
        parent[root(column[p.reference])] = root(column[p.secondary])
    anchors = {}
    for d in dates:
        anchors.setdefault(root(column[d]), column[d])
    rows = len(pairs) + len(anchors)
    design = np.zeros((rows, len(dates)))
    observed = np.zeros(rows)
    for row, p in enumerate(pairs):
        if p.baseline is None:
            raise ValueError(f"pair {p.pair_id} has no baseline")
        design[row, column[p.secondary]] = 1.0
        design[row, column[p.reference]] = -1.0
        observed[row] = p.baseline
    for row, anchor in enumerate(anchors.values(), start=len(pairs)):
        design[row, anchor] = 1.0
    solution, *_ = np.linalg.lstsq(design, observed, rcond=None)
    return {d: float(solution[column[d]]) for d in dates}


def stack_date_baselines(work_dir: str | Path) -> dict[str, float]:
    """Per-date perpendicular baseline (m) of a topsStack work dir, from ``baselines/``.

    ``baselines/<R>_<d>/<R>_<d>.txt`` holds ``Bperp (average): <m>`` per swath for date ``d``
    against the stack reference ``R``; like MintPy, the swaths are averaged. ``R`` is 0 m.
    """
    values: dict[str, float] = {}
    for text in sorted(Path(work_dir).glob("baselines/*_*/*_*.txt")):
        reference, _, day = text.parent.name.partition("_")
        numbers = []
        for line in text.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Bperp (average)":
                try:
                    numbers.append(float(value))
                except ValueError:
                    continue
        if numbers:
            values[day] = sum(numbers) / len(numbers)
            values.setdefault(reference, 0.0)
    return values


def _date_axis(axes) -> None:
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def plot_network(
    pairs: Sequence[NetworkPair], path: str | Path, title: str, why_no_baselines: str = ""
) -> bool:
    """Write the network graph; True when it shows perpendicular baselines, False dates only.

    ``why_no_baselines`` replaces the default explanation under a dates-only graph.
    """
    figure = new_figure(9, 5)
    axes = figure.add_subplot()
    dates = sorted({d for p in pairs for d in (p.reference, p.secondary)})
    missing = [p for p in pairs if p.baseline is None]
    with_baselines = bool(pairs) and not missing
    if with_baselines:
        heights = date_baselines(pairs)
        axes.set_ylabel("perpendicular baseline (m)")
        for p in pairs:
            axes.plot(
                [p.reference, p.secondary],
                [heights[p.reference], heights[p.secondary]],
                color="tab:blue",
                alpha=0.5,
                linewidth=0.8,
            )
        axes.plot(dates, [heights[d] for d in dates], "o", color="tab:red", markersize=4)
    else:
        # Dates only: each pair is an arc whose height is its temporal baseline.
        span = np.linspace(0.0, np.pi, 48)
        for p in pairs:
            first, second = date2num(p.reference), date2num(p.secondary)
            xs = (first + second) / 2 - (second - first) / 2 * np.cos(span)
            axes.plot(xs, p.days * np.sin(span), color="tab:blue", alpha=0.5, linewidth=0.8)
        axes.plot(date2num(dates), [0] * len(dates), "o", color="tab:red", markersize=4)
        axes.set_ylabel("temporal baseline of the arc (days)")
        if not pairs:
            axes.text(0.5, 0.5, "no pairs", transform=axes.transAxes, ha="center")
    _date_axis(axes)
    axes.grid(alpha=0.3)
    axes.set_title(f"{title}: {len(pairs)} pairs over {len(dates)} dates")
    if not with_baselines:
        why = (
            f"{len(missing)} of {len(pairs)} pairs have no product yet"
            if missing and len(missing) < len(pairs)
            else "no pair has a perpendicular baseline yet"
        )
        why = why_no_baselines or f"{why}; baselines appear once every pair's product is read"
        note(figure, f"Dates only: {why}.")
    save(figure, path)
    return with_baselines


def plot_temporal_baselines(pairs: Sequence[NetworkPair], path: str | Path, title: str) -> None:
    """Histogram of the pairs' temporal baselines in days (6-day bins: Sentinel-1's repeat)."""
    figure = new_figure(7, 4)
    axes = figure.add_subplot()
    days = np.array([p.days for p in pairs], dtype=float)
    if days.size:
        width = 6 * max(1, int(np.ceil(days.max() / 6 / 40)))  # at most ~40 bars
        edges = np.arange(0, days.max() + width + 1, width) - width / 2
        edges = edges[edges + width / 2 >= 0]
        axes.hist(days, bins=edges, color="tab:blue", edgecolor="white")
        axes.axvline(float(np.median(days)), color="tab:red", linestyle="--", linewidth=1)
        axes.text(
            0.98,
            0.95,
            f"{days.size} pairs\nmedian {np.median(days):g} days\nmax {days.max():g} days",
            transform=axes.transAxes,
            ha="right",
            va="top",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
        )
    else:
        axes.text(0.5, 0.5, "no pairs", transform=axes.transAxes, ha="center")
    axes.set_xlabel("temporal baseline (days)")
    axes.set_ylabel("pairs")
    axes.set_title(f"{title}: temporal baselines")
    axes.grid(alpha=0.3, axis="y")
    save(figure, path)
