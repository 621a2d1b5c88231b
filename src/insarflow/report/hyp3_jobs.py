"""The HyP3 job timeline and the credits / product-expiry tables.

HyP3 reports when a job was requested (``request_time``) and how long it processed
(``processing_times``, seconds per attempt), but no start or end time. The timeline therefore
draws, per job:

* *submitted*: ``request_time`` (else the ledger's intent time);
* *finished*: when insarflow saw it finished: the ``recorded_at`` of the pair's finished record
  (SUCCEEDED), the intent time of the resubmission that replaced it (FAILED), else the last poll
  of its account's status board; at most one polling interval late;
* *processing*: the ``processing_times`` sum, drawn to end at *finished*;
* *downloaded*: the product's ``verified_at``.

Sources: the ledger (``.insarflow/hyp3/ledger.jsonl``: every attempt, resubmissions with their
reason), the status board (``.insarflow/hyp3/poll/<account>.jsonl``: every job as ``hyp3_sdk``'s
``Job.to_dict()`` less its parameters and browse images, refreshed by the status table rule), finished job records and the products'
``verified.json``.
"""

from __future__ import annotations

import csv
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.patches import Patch

from insarflow.hyp3.board import BOARD_SUFFIX, read_board_file
from insarflow.hyp3.ledger import Ledger
from insarflow.report.figures import new_figure, note, save

STATUS_COLOURS = {
    "SUCCEEDED": "tab:green",
    "FAILED": "tab:red",
    "RUNNING": "tab:orange",
    "PENDING": "tab:gray",
}
QUEUED_COLOUR = "#c6dbef"
LABELLED_ROWS = 80  # more rows than this: no per-job tick labels (they would overlap)


@dataclass(frozen=True)
class JobSpan:
    pair_id: str
    attempt: int
    job_id: str
    account: str
    reason: str  # why this attempt was made: "new", "failed:<job id>", "expired:<job id>" ...
    status: str
    submitted: datetime
    finished: datetime | None  # seen finished by insarflow; None while PENDING/RUNNING
    processing_seconds: float | None
    downloaded: datetime | None = None

    @property
    def started(self) -> datetime | None:
        """Estimated start; a finished job without processing times (FAILED) spans it all."""
        if self.finished is None:
            return None
        if self.processing_seconds is None:
            return self.submitted
        return max(self.submitted, self.finished - timedelta(seconds=self.processing_seconds))


def parse_time(value: Any) -> datetime | None:
    """An ISO time (naive = UTC) or epoch seconds as an aware datetime; None if absent."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _seconds(value: Any) -> float:
    """Sum of ``processing_times`` (nested lists for parallel steps)."""
    if isinstance(value, list):
        return sum(_seconds(item) for item in value)
    return float(value or 0.0)


def read_board(board_dir: str | Path) -> tuple[dict[str, dict[str, Any]], dict[str, datetime]]:
    """Every job on the status boards (job id -> job dict) and each job's board poll time."""
    jobs: dict[str, dict[str, Any]] = {}
    polled: dict[str, datetime] = {}
    for path in sorted(Path(board_dir).glob(f"*{BOARD_SUFFIX}")):
        try:
            board = read_board_file(path)
        except OSError:
            continue
        when = parse_time(board.polled_at or None)
        for job_id, job in board.jobs.items():
            jobs[job_id] = job
            if when:
                polled[job_id] = when
    return jobs, polled


def job_spans(
    ledger_path: str | Path,
    board: Mapping[str, Mapping[str, Any]],
    polled: Mapping[str, datetime],
    finished_records: Iterable[Mapping[str, Any]],
    downloads: Mapping[str, datetime | None],
) -> list[JobSpan]:
    """One span per HyP3 job the ledger knows, in pair and attempt order."""
    seen_succeeded = {
        record["job_id"]: parse_time(record.get("recorded_at"))
        for record in finished_records
        if record.get("job_id")
    }
    spans = []
    path = Path(ledger_path)
    states = Ledger(path).state() if path.exists() else {}
    for state in sorted(states.values(), key=lambda s: s.pair_id):
        attempts = [a for a in state.attempts if a.job_id]
        replaced = {
            a.reason.split(":", 1)[1]: parse_time(a.intent_time)
            for a in state.attempts
            if ":" in a.reason
        }
        for attempt in attempts:
            job = board.get(attempt.job_id, {})
            status = job.get("status_code") or "UNKNOWN"
            submitted = parse_time(job.get("request_time")) or parse_time(attempt.intent_time)
            assert submitted is not None
            finished = None
            if status in ("SUCCEEDED", "FAILED"):
                finished = (
                    seen_succeeded.get(attempt.job_id)
                    or replaced.get(attempt.job_id)
                    or polled.get(attempt.job_id)
                )
            times = job.get("processing_times")
            current = attempt is attempts[-1]
            spans.append(
                JobSpan(
                    pair_id=state.pair_id,
                    attempt=attempt.number,
                    job_id=attempt.job_id,
                    account=attempt.account,
                    reason=attempt.reason,
                    status=status,
                    submitted=submitted,
                    finished=finished,
                    processing_seconds=_seconds(times) if times is not None else None,
                    downloaded=downloads.get(state.pair_id) if current else None,
                )
            )
    return spans


def plot_job_timeline(spans: Sequence[JobSpan], path: str | Path) -> None:
    """One row per job: queued (light), processing (status colour), download (black tick)."""
    rows = len(spans)
    figure = new_figure(11, min(3.0 + 0.16 * rows, 40.0))
    axes = figure.add_subplot()
    if not spans:
        axes.text(0.5, 0.5, "no HyP3 job submitted yet", transform=axes.transAxes, ha="center")
        axes.set_axis_off()
        save(figure, path)
        return
    now = max(t for s in spans for t in (s.submitted, s.finished, s.downloaded) if t is not None)
    y = np.arange(rows)[::-1]
    submitted = date2num([s.submitted for s in spans])
    started = date2num([s.started or s.finished or now for s in spans])
    ended = date2num([s.finished or now for s in spans])
    axes.barh(y, started - submitted, left=submitted, height=0.8, color=QUEUED_COLOUR)
    colours = [STATUS_COLOURS.get(s.status, "tab:purple") for s in spans]
    hatches = [None if s.finished else "//" for s in spans]
    bars = axes.barh(y, ended - started, left=started, height=0.8, color=colours)
    for bar, hatch in zip(bars, hatches, strict=True):
        if hatch:
            bar.set_hatch(hatch)
    downloaded = [(row, s) for row, s in zip(y, spans, strict=True) if s.downloaded]
    if downloaded:
        rows_down = [row for row, _ in downloaded]
        ends = date2num([s.finished or s.downloaded for _, s in downloaded])
        done = date2num([s.downloaded for _, s in downloaded])
        axes.hlines(rows_down, ends, done, color="black", linewidth=0.8)
        axes.plot(done, rows_down, "|", color="black", markersize=8)
    axes.set_ylim(-0.7, rows - 0.3)
    if rows <= LABELLED_ROWS:
        axes.set_yticks(
            y,
            [
                f"{s.pair_id} #{s.attempt}" + (" (resubmitted)" if s.attempt > 1 else "")
                for s in spans
            ],
            fontsize=7,
        )
    else:
        axes.set_yticks([])
        axes.set_ylabel(f"{rows} jobs, pair order")
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.set_xlabel("time (UTC)")
    axes.grid(alpha=0.3, axis="x")
    failed = sum(s.status == "FAILED" for s in spans)
    resubmitted = sum(s.attempt > 1 for s in spans)
    axes.set_title(
        f"HyP3 jobs: {rows} jobs for {len({s.pair_id for s in spans})} pairs, "
        f"{failed} failed, {resubmitted} resubmitted"
    )
    legend = [Patch(color=QUEUED_COLOUR, label="submitted, waiting")]
    legend += [
        Patch(color=colour, label=f"processing, {status.lower()}")
        for status, colour in STATUS_COLOURS.items()
        if any(s.status == status for s in spans)
    ]
    legend.append(Patch(facecolor="white", edgecolor="black", label="finished → downloaded"))
    axes.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    note(
        figure,
        "Processing lengths are HyP3's processing_times, drawn to end when insarflow saw the job "
        "finished (within one polling interval); failed jobs have none and span their whole life. "
        "Hatched: still running.",
    )
    save(figure, path)


def read_table(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """A TSV's header (as written, whatever its columns) and rows."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        return list(reader.fieldnames or []), list(reader)


def _number(value: str | None) -> float:
    try:
        return float(value) if value not in (None, "", "-") else 0.0
    except ValueError:
        return 0.0


def credits_by_account(header: Sequence[str], rows: Sequence[Mapping[str, str]]) -> list[dict]:
    """Per account: pairs, jobs, credits spent and pairs per status (columns that exist)."""
    accounts: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = accounts.setdefault(row.get("account", "-"), {"pairs": 0})
        entry["pairs"] += 1
        for column in ("attempts", "credits_spent"):
            if column in header:
                entry[column] = entry.get(column, 0.0) + _number(row.get(column))
        if "status" in header:
            entry.setdefault("statuses", {}).setdefault(row["status"], 0)
            entry["statuses"][row["status"]] += 1
    table = []
    for account, entry in sorted(accounts.items()):
        line = {"account": account, "pairs": str(entry["pairs"])}
        if "attempts" in entry:
            line["jobs"] = f"{entry['attempts']:g}"
        if "credits_spent" in entry:
            line["credits_spent"] = f"{entry['credits_spent']:g}"
        if "statuses" in entry:
            line["status"] = ", ".join(f"{n} {s}" for s, n in sorted(entry["statuses"].items()))
        table.append(line)
    return table


def _html_table(header: Sequence[str], rows: Iterable[Mapping[str, str]], marked=None) -> str:
    head = "".join(f"<th>{html.escape(column)}</th>" for column in header)
    body = []
    for row in rows:
        cells = "".join(f"<td>{html.escape(str(row.get(column, '')))}</td>" for column in header)
        attribute = ' class="soon"' if marked and marked(row) else ""
        body.append(f"<tr{attribute}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


STYLE = """
body { font-family: sans-serif; font-size: 14px; margin: 1em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; white-space: nowrap; }
th { background: #eef; } tr.soon td { background: #fde0dc; }
"""


def write_status_html(
    status_tsv: str | Path,
    finished_records: Iterable[Mapping[str, Any]],
    path: str | Path,
    now: datetime | None = None,
    warn_days: float = 3.0,
) -> dict[str, Any]:
    """Credits per account and each product's expiry, from ``status.tsv`` (any columns).

    ``expiration_time`` comes from the table when it has that column, else from the pairs'
    finished job records. Returns what was written (for tests and logs).
    """
    now = now or datetime.now(UTC)
    header, rows = read_table(status_tsv)
    expiry_column = "expiration_time"
    if expiry_column not in header:
        by_job = {r.get("job_id"): r.get("expiration_time") for r in finished_records}
        by_pair = {r.get("pair"): r.get("expiration_time") for r in finished_records}
        for row in rows:
            row[expiry_column] = (
                by_job.get(row.get("job_id")) or by_pair.get(row.get("pair")) or "-"
            )
        header = [*header, expiry_column]
    for row in rows:
        expiry = parse_time(row.get(expiry_column)) if row.get(expiry_column) != "-" else None
        row["days_left"] = f"{(expiry - now).total_seconds() / 86400:.1f}" if expiry else "-"
    products_header = [*header, "days_left"]

    def expiring(row: Mapping[str, str]) -> bool:
        return row["days_left"] != "-" and float(row["days_left"]) < warn_days

    def expired(row: Mapping[str, str]) -> bool:
        return row["days_left"] != "-" and float(row["days_left"]) <= 0

    accounts = credits_by_account(header, rows)
    account_header = list(dict.fromkeys(key for line in accounts for key in line))
    gone = sum(expired(row) for row in rows)
    soon = sum(expiring(row) for row in rows) - gone
    document = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>HyP3 credits and products"
        f"</title><style>{STYLE}</style></head><body>"
        "<h2>Credits per account</h2>"
        + _html_table(account_header, accounts)
        + f"<h2>Products ({len(rows)} pairs; in red: {gone} expired, {soon} expire within "
        f"{warn_days:g} days)</h2>"
        + _html_table(products_header, rows, expiring)
        + f"<p>From {html.escape(Path(status_tsv).name)}, "
        f"as of {now.isoformat(timespec='seconds')}.</p></body></html>\n"
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(document)
    return {
        "accounts": accounts,
        "products": rows,
        "columns": products_header,
        "expiring": soon,
        "expired": gone,
    }
