"""The HyP3 path's steps, as called by the workflow's rule scripts.

Each function takes the validated ``hyp3`` config section plus the pairs it works on, so a
rule script only maps ``snakemake.input/output/params`` onto one call.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from insarflow.hyp3.credentials import load_accounts
from insarflow.hyp3.download import DEFAULT_CACHE, fetch_product
from insarflow.hyp3.insarhub import import_insarhub_jobs
from insarflow.hyp3.jobs import JobSpec, build_job
from insarflow.hyp3.ledger import DEFAULT_LEDGER, Ledger
from insarflow.hyp3.rounds import read_round, settled_before
from insarflow.hyp3.service import resolve_api_url
from insarflow.hyp3.submit import Submitter
from insarflow.hyp3.watch import (
    PairFailed,
    StatusBoard,
    job_record,
    poll_until_any_succeeds,
    wait_for_job,
    write_json_atomic,
)
from insarflow.pairs import Pair, make_pair

log = logging.getLogger(__name__)


class Hyp3Session:
    """Accounts, ledger, submitter and status board for one workflow step."""

    def __init__(
        self, settings: Mapping[str, Any], state_root: Path = DEFAULT_LEDGER.parent
    ) -> None:
        self.settings = settings
        sandbox = settings["api_url"] == "sandbox"
        self.accounts = load_accounts(settings["credentials_file"], sandbox=sandbox)
        self.api_url = resolve_api_url(settings["api_url"], settings["sandbox"])
        self.ledger = Ledger(state_root / "ledger.jsonl")
        self.submitter = Submitter(
            self.api_url,
            self.accounts,
            self.ledger,
            chunk_size=settings["submission_chunk_size"],
            timeout=settings["request_timeout"],
        )
        self.board = StatusBoard(
            self.submitter, self.ledger, settings["poll_interval"], root=state_root / "poll"
        )
        self.cache_dir = state_root / DEFAULT_CACHE.name

    def spec(self, pair: Pair) -> JobSpec:
        return build_job(pair, self.settings)

    def wait(self, spec: JobSpec) -> dict[str, Any]:
        """Wait until the pair's job succeeded; its finished job record."""
        attempt, job = wait_for_job(
            spec,
            self.submitter,
            self.board,
            max_resubmits=self.settings["max_resubmits"],
            timeout=self.settings["wait_timeout"],
        )
        return job_record(spec, attempt, job)


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
    session = Hyp3Session(settings)
    specs = [session.spec(pair) for pair in pairs]
    if settings["import_insarhub_jobs"]:
        with session.ledger.locked():
            import_insarhub_jobs(Path(settings["import_insarhub_jobs"]), specs, session)
    session.submitter.submit_missing(specs)
    states = session.ledger.state()
    for spec in specs:
        attempt = states[spec.key].current_job
        assert attempt is not None  # submit_missing returned, so every key has a job
        write_json_atomic(Path(records[spec.pair_id]), job_record(spec, attempt))
    # What the polling rounds watch: every submitted pair, by scene names.
    write_json_atomic(
        Path(submission),
        {pair.pair_id: [pair.reference.name, pair.secondary.name] for pair in pairs},
    )


def watch_round(
    settings: Mapping[str, Any], submission: Path, previous: Path | None, output: Path
) -> None:
    """One polling round: wait until some unsettled pairs' jobs succeeded; record them."""
    session = Hyp3Session(settings)
    settled = settled_before(previous)
    pairs = json.loads(Path(submission).read_text())
    specs = [
        session.spec(make_pair(*names))
        for pair_id, names in pairs.items()
        if pair_id not in settled
    ]
    if not specs:
        raise PairFailed(
            f"every pair in {submission} is already settled; delete {output} and rerun"
        )
    log.info("waiting for %d pair(s); %d settled in earlier rounds", len(specs), len(settled))
    result = poll_until_any_succeeds(
        specs,
        session.submitter,
        session.board,
        max_resubmits=settings["max_resubmits"],
        timeout=settings["wait_timeout"],
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
    """Download, verify and unpack the pair's product; resubmit an expired one only if opted in."""
    session = Hyp3Session(settings)
    record = read_round(round_file)["succeeded"][pair.pair_id]
    job = record
    expiration = record.get("expiration_time")
    cached = [session.cache_dir / record["job_id"] / item["filename"] for item in record["files"]]
    expired = expiration is not None and datetime.fromisoformat(expiration) <= datetime.now(UTC)
    if expired and not all(path.exists() for path in cached):
        if not settings["resubmit_expired"]:
            raise PairFailed(
                f"pair {pair.pair_id}: the product of job {record['job_id']} expired on {expiration}; "
                "set hyp3.resubmit_expired: true to pay for it again"
            )
        spec = session.spec(pair)
        log.warning("pair %s: product expired; resubmitting (hyp3.resubmit_expired)", pair.pair_id)
        session.submitter.resubmit(spec, record["job_id"], reason=f"expired:{record['job_id']}")
        job = session.wait(spec)
    write_json_atomic(Path(finished), job)
    manifest = fetch_product(
        {"job_id": job["job_id"], "files": job["files"]},
        Path(product_dir),
        cache_dir=session.cache_dir,
        skip_existing=settings["skip_existing"],
        timeout=settings["request_timeout"],
    )
    manifest.update(
        pair=pair.pair_id, account=job["account"], verified_at=datetime.now(UTC).isoformat()
    )
    write_json_atomic(Path(product_dir) / "verified.json", manifest)
    log.info(
        "pair %s: %s verified and unpacked",
        pair.pair_id,
        ", ".join(item["folder"] for item in manifest["files"]),
    )


STATUS_COLUMNS = ("pair", "account", "job_id", "status", "product", "credits_spent", "attempts")


def status(
    settings: Mapping[str, Any], pairs: Sequence[Pair], products_root: Path, table: Path
) -> str:
    """Refresh every pair's job (one listing per account) and write the status table."""
    session = Hyp3Session(settings)
    states = session.ledger.state()
    accounts = sorted({a.account for s in states.values() for a in s.attempts if a.job_id})
    jobs = session.board.refresh_all(accounts) if accounts else {}
    rows = []
    for pair in pairs:
        spec = session.spec(pair)
        state = states.get(spec.key)
        current = state.current_job if state else None
        product = "-"
        manifest = Path(products_root) / pair.pair_id / "verified.json"
        if manifest.exists():
            product = json.loads(manifest.read_text())["files"][0]["folder"]
        spent = sum(
            float(jobs.get(job_id, {}).get("credit_cost") or 0)
            for job_id in (state.job_ids if state else [])
        )
        rows.append(
            {
                "pair": pair.pair_id,
                "account": current.account if current else "-",
                "job_id": current.job_id if current else "-",
                "status": jobs.get(current.job_id, {}).get("status_code", "UNKNOWN")
                if current
                else "NOT_SUBMITTED",
                "product": product,
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
    text = "\n".join(
        "  ".join(
            value.ljust(widths[c])
            for c, value in zip(STATUS_COLUMNS, line.split("\t"), strict=True)
        )
        for line in lines
    )
    return text
