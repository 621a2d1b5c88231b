"""The HyP3 path's steps, as called by the workflow's rule scripts.

Each function takes the validated ``hyp3`` config section plus the pairs it works on, so a
rule script only maps ``snakemake.input/output/params`` onto one call.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from insarflow.files import write_json_atomic
from insarflow.hyp3.credentials import load_accounts
from insarflow.hyp3.download import fetch_product
from insarflow.hyp3.insarhub import import_insarhub_jobs
from insarflow.hyp3.jobs import JobSpec, build_job, job_cost
from insarflow.hyp3.ledger import Ledger
from insarflow.hyp3.rounds import read_round, settled_before
from insarflow.hyp3.sandbox_process import sandbox_url
from insarflow.hyp3.submit import Submitter
from insarflow.hyp3.watch import (
    PairFailed,
    StatusBoard,
    job_record,
    poll_until_any_succeeds,
)
from insarflow.pairs import Pair, make_pair
from insarflow.paths import VERIFIED_MANIFEST, Hyp3State
from insarflow.steps import console

log = logging.getLogger(__name__)

EXPIRY_WARNING = timedelta(days=3)
PROGRESS_HEARTBEAT_S = 600.0


def effective_poll_interval(settings: Mapping[str, Any]) -> float:
    """The sandbox polls fast (its jobs take seconds); a real HyP3 gets the polite interval."""
    if settings["api_url"] == "sandbox":
        return float(settings["sandbox"]["poll_interval"])
    return float(settings["poll_interval"])


class Hyp3Context:
    """What one workflow step needs to talk to HyP3: accounts, ledger, submitter, status board."""

    def __init__(self, settings: Mapping[str, Any], state: Hyp3State | None = None) -> None:
        self.settings = settings
        self.state = state or Hyp3State()
        sandbox = settings["api_url"] == "sandbox"
        self.accounts = load_accounts(settings["credentials_file"], sandbox=sandbox)
        self.api_url = (
            sandbox_url(settings["sandbox"]["state_dir"])
            if sandbox
            else settings["api_url"].rstrip("/")
        )
        self.ledger = Ledger(self.state.ledger)
        self.submitter = Submitter(
            self.api_url,
            self.accounts,
            self.ledger,
            chunk_size=settings["submission_chunk_size"],
            timeout=settings["request_timeout"],
        )
        self.board = StatusBoard(
            self.submitter,
            self.ledger,
            effective_poll_interval(settings),
            root=self.state.poll_dir,
        )

    def spec(self, pair: Pair) -> JobSpec:
        return build_job(pair, self.settings)


def pairs_from_params(pairs: Mapping[str, Sequence[str]]) -> list[Pair]:
    """Pairs passed through Snakemake params as {pair_id: [reference, secondary]}."""
    return [make_pair(reference, secondary) for reference, secondary in pairs.values()]


def submit(
    settings: Mapping[str, Any],
    pairs: Sequence[Pair],
    records: Mapping[str, Path],
    submission: Path,
) -> None:
    """Submit every pair that has no job yet; write one job record per pair and the index."""
    context = Hyp3Context(settings)
    specs = [context.spec(pair) for pair in pairs]
    if settings["import_insarhub_jobs"]:
        with context.ledger.locked():
            import_insarhub_jobs(
                Path(settings["import_insarhub_jobs"]), specs, context.ledger, context.submitter
            )
    context.submitter.submit_missing(specs)
    states = context.ledger.state()
    for spec in specs:
        attempt = states[spec.key].current_job
        assert attempt is not None  # submit_missing returned, so every key has a job
        write_json_atomic(Path(records[spec.pair_id]), job_record(spec, attempt))
    # What the polling rounds watch: every submitted pair, by scene names.
    write_json_atomic(
        Path(submission),
        {pair.pair_id: [pair.reference.name, pair.secondary.name] for pair in pairs},
    )


def plan(settings: Mapping[str, Any], pairs: Sequence[Pair], options: str) -> str:
    """What a run would submit and what it would cost; submits nothing."""
    context = Hyp3Context(settings)
    states = context.ledger.state()
    specs = [context.spec(pair) for pair in pairs]
    have = [s for s in specs if s.key in states and states[s.key].current_job is not None]
    unresolved = [s for s in specs if s.key in states and states[s.key].ambiguous and s not in have]
    new = [s for s in specs if s not in have and s not in unresolved]
    lines = [
        f"HyP3 plan for {options} at {context.api_url}: {len(specs)} pair(s); "
        f"{len(have)} already have a job, {len(new)} new"
        + (
            f", {len(unresolved)} with an unanswered submission (looked up by name first)"
            if unresolved
            else ""
        ),
        context.submitter.cost_line(new),
    ]
    costs = context.submitter.costs()
    lines += [f"  {s.pair_id}  {s.name}  {job_cost(costs, s):g} credits" for s in new]
    return "\n".join(lines)


def _downloaded(products_dir: Path) -> int:
    return sum(1 for _ in products_dir.glob(f"*/{VERIFIED_MANIFEST}"))


def _cached(state: Hyp3State, job: Mapping[str, Any], product_dir: Path) -> bool:
    """Whether the job's product is already on disk (verified product, or its zips)."""
    if (product_dir / VERIFIED_MANIFEST).exists():
        return True
    files = job.get("files") or []
    return bool(files) and all(
        (state.downloads / job["job_id"] / item["filename"]).exists() for item in files
    )


class RoundProgress:
    """One console line per polling round in which something changed (and a heartbeat)."""

    def __init__(
        self,
        options: str,
        specs: Sequence[JobSpec],
        settled: int,
        ledger: Ledger,
        products_dir: Path,
        total: int,
    ) -> None:
        self.options = options
        self.settled = settled
        self.total = total
        self.products_dir = products_dir
        states = ledger.state()
        keys = {spec.key for spec in specs}
        submitted = [
            datetime.fromisoformat(attempt.intent_time)
            for key, state in states.items()
            if key in keys
            for attempt in state.attempts
        ]
        self.since = min(submitted, default=datetime.now(UTC))
        self.ledger = ledger
        self.keys = keys
        self._last: tuple[Any, ...] | None = None
        self._last_time = 0.0

    def credits_spent(self) -> float:
        return sum(
            float(record.get("credit_cost") or 0)
            for record in self.ledger.records()
            if record["event"] in ("submitted", "imported") and record.get("key") in self.keys
        )

    def __call__(self, statuses: Counter[str], now: float) -> None:
        counts = Counter(statuses)
        counts["SUCCEEDED"] += self.settled
        downloaded = _downloaded(self.products_dir)
        state = (tuple(sorted(counts.items())), downloaded)
        if state == self._last and now - self._last_time < PROGRESS_HEARTBEAT_S:
            return
        self._last, self._last_time = state, now
        waited = datetime.now(UTC) - self.since
        percent = math.floor(100 * downloaded / self.total) if self.total else 100
        console().info(
            "HyP3 %s, waited %s: %s; %d of %d products downloaded (%d%%); %g credits spent",
            self.options,
            str(waited).split(".")[0],
            ", ".join(
                f"{counts.get(name, 0)} {name}"
                for name in ("PENDING", "RUNNING", "SUCCEEDED", "FAILED")
            ),
            downloaded,
            self.total,
            percent,
            self.credits_spent(),
        )


def watch_round(
    settings: Mapping[str, Any],
    submission: Path,
    previous: Path | None,
    output: Path,
    options: str,
    products_dir: Path,
) -> None:
    """One polling round: wait until some unsettled pairs' jobs succeeded; record them."""
    context = Hyp3Context(settings)
    settled = settled_before(previous)
    pairs = json.loads(Path(submission).read_text())
    specs = [
        context.spec(make_pair(*names))
        for pair_id, names in pairs.items()
        if pair_id not in settled
    ]
    if not specs:
        raise PairFailed(
            f"every pair in {submission} is already settled; delete {output} and rerun"
        )
    log.info("waiting for %d pair(s); %d settled in earlier rounds", len(specs), len(settled))
    products_dir = Path(products_dir)
    progress = RoundProgress(
        options,
        [context.spec(make_pair(*names)) for names in pairs.values()],
        len(settled & set(pairs)),
        context.ledger,
        products_dir,
        len(pairs),
    )

    def expired(spec: JobSpec, job: Mapping[str, Any]) -> str | None:
        """Why a succeeded job cannot be downloaded any more, or None."""
        expiration = job.get("expiration_time")
        if expiration is None or datetime.fromisoformat(expiration) > datetime.now(UTC):
            return None
        if _cached(context.state, job, products_dir / spec.pair_id):
            return None
        return f"the product of job {job['job_id']} expired on {expiration}"

    result = poll_until_any_succeeds(
        specs,
        context.submitter,
        context.board,
        max_resubmits=settings["max_resubmits"],
        timeout=settings["wait_timeout"],
        expired=expired,
        resubmit_expired=settings["resubmit_expired"],
        progress=progress,
    )
    by_pair = {spec.pair_id: spec for spec in specs}
    succeeded = {
        pair_id: job_record(by_pair[pair_id], attempt, job)
        for pair_id, (attempt, job) in result.succeeded.items()
    }
    log.info(
        "%d job(s) succeeded: %s; %d still waiting",
        len(succeeded),
        ", ".join(sorted(succeeded)),
        result.still_waiting,
    )
    write_json_atomic(
        Path(output),
        {
            "succeeded": succeeded,
            "given_up": result.gave_up,
            "still_waiting": result.still_waiting,
            "settled": sorted(settled | set(succeeded)),
        },
    )


def download(
    settings: Mapping[str, Any], pair: Pair, round_file: Path, product_dir: Path, finished: Path
) -> None:
    """Download, verify and unpack the pair's product (the round saw its job succeed)."""
    state = Hyp3State()
    job = read_round(round_file)["succeeded"][pair.pair_id]
    write_json_atomic(Path(finished), job)
    manifest = fetch_product(
        {"job_id": job["job_id"], "files": job["files"]},
        Path(product_dir),
        cache_dir=state.downloads,
        skip_existing=settings["skip_existing"],
        keep_zips=settings["keep_zips"],
        timeout=settings["request_timeout"],
    )
    manifest.update(
        pair=pair.pair_id,
        account=job["account"],
        job_id=job["job_id"],
        expiration_time=job.get("expiration_time"),
        verified_at=datetime.now(UTC).isoformat(),
    )
    write_json_atomic(Path(product_dir) / VERIFIED_MANIFEST, manifest)
    log.info(
        "pair %s: %s verified and unpacked",
        pair.pair_id,
        ", ".join(item["folder"] for item in manifest["files"]),
    )


STATUS_COLUMNS = (
    "pair",
    "account",
    "job_id",
    "status",
    "product",
    "downloaded",
    "expiration_time",
    "credits_spent",
    "attempts",
)


def status(
    settings: Mapping[str, Any],
    pairs: Sequence[Pair],
    products_dir: Path,
    table: Path,
) -> str:
    """Refresh the current pairs' jobs (one listing per account) and write the status table.

    Only the configured pairs with the configured options are listed: products of other
    options or of removed pairs stay on disk but are not current.
    """
    context = Hyp3Context(settings)
    states = context.ledger.state()
    specs = [context.spec(pair) for pair in pairs]
    accounts = sorted(
        {
            attempt.account
            for spec in specs
            if spec.key in states
            for attempt in states[spec.key].attempts
            if attempt.job_id
        }
    )
    jobs = context.board.refresh_all(accounts) if accounts else {}
    rows = []
    now = datetime.now(UTC)
    expiring = []
    total_spent = 0.0
    for spec in specs:
        state = states.get(spec.key)
        current = state.current_job if state else None
        job = jobs.get(current.job_id, {}) if current and current.job_id else {}
        manifest_path = Path(products_dir) / spec.pair_id / VERIFIED_MANIFEST
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
        # The product is current only if it came from the current job.
        current_product = (
            manifest is not None
            and current is not None
            and manifest.get("job_id") == current.job_id
        )
        spent = sum(
            float(jobs.get(job_id, {}).get("credit_cost") or 0)
            for job_id in (state.job_ids if state else [])
        )
        total_spent += spent
        expiration = job.get("expiration_time")
        if (
            expiration
            and not current_product
            and job.get("status_code") == "SUCCEEDED"
            and datetime.fromisoformat(expiration) - now < EXPIRY_WARNING
        ):
            expiring.append(f"{spec.pair_id} ({expiration})")
        rows.append(
            {
                "pair": spec.pair_id,
                "account": current.account if current else "-",
                "job_id": (current.job_id or "-") if current else "-",
                "status": job.get("status_code", "UNKNOWN") if current else "NOT_SUBMITTED",
                "product": manifest["files"][0]["folder"] if current_product else "-",
                "downloaded": "yes" if current_product else "no",
                "expiration_time": expiration or "-",
                "credits_spent": f"{spent:g}",
                "attempts": str(len(state.job_ids) if state else 0),
            }
        )
    table = Path(table)
    table.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(STATUS_COLUMNS)] + [
        "\t".join(row[c] for c in STATUS_COLUMNS) for row in rows
    ]
    table.write_text("\n".join(lines) + "\n")
    widths = {
        c: max(len(c), *(len(row[c]) for row in rows)) if rows else len(c) for c in STATUS_COLUMNS
    }
    text = [
        "  ".join(
            value.ljust(widths[c])
            for c, value in zip(STATUS_COLUMNS, line.split("\t"), strict=True)
        )
        for line in lines
    ]
    text.append(f"total credits spent: {total_spent:g}")
    if expiring:
        text.append(
            f"WARNING: {len(expiring)} product(s) not downloaded yet expire within 3 days: "
            + ", ".join(expiring)
        )
    return "\n".join(text)
