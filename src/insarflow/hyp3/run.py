"""The HyP3 path's steps, as called by the workflow's rule scripts.

Each function takes the validated ``hyp3`` config section plus the pairs it works on, so a
rule script only maps ``snakemake.input/output/params`` onto one call.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from insarflow.errors import UserError
from insarflow.files import write_json_atomic
from insarflow.hyp3.credentials import load_accounts
from insarflow.hyp3.download import download_product, unpack_product
from insarflow.hyp3.insarhub import import_insarhub_jobs
from insarflow.hyp3.jobs import JobSpec, build_job, job_cost
from insarflow.hyp3.ledger import Attempt, Ledger, LedgerView
from insarflow.hyp3.rounds import read_round, settled_before
from insarflow.hyp3.sandbox_process import sandbox_url
from insarflow.hyp3.submit import Submitter
from insarflow.hyp3.watch import (
    PairFailed,
    StatusBoard,
    collect_less_while_listing,
    job_record,
    poll_until_any_succeeds,
)
from insarflow.pairs import Pair, make_pair
from insarflow.paths import (
    HYP3_FINISHED,
    HYP3_STAGED,
    VERIFIED_MANIFEST,
    Hyp3State,
    download_path,
)
from insarflow.steps import console

log = logging.getLogger(__name__)

EXPIRY_WARNING = timedelta(days=3)
ROUND_SECONDS_PER_PAIR = 0.15
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


def submit(settings: Mapping[str, Any], pairs: Sequence[Pair], submission: Path) -> None:
    """Submit every pair that has no job yet; write the index of pairs and their job records.

    The index stays byte-identical across reruns that submit nothing, so Snakemake sees
    nothing new.
    """
    context = Hyp3Context(settings)
    specs = [context.spec(pair) for pair in pairs]
    if settings["import_insarhub_jobs"]:
        with context.ledger.locked():
            import_insarhub_jobs(
                Path(settings["import_insarhub_jobs"]), specs, context.ledger, context.submitter
            )
    context.submitter.submit_missing(specs)
    states = context.ledger.state()
    records = {}
    for spec in specs:
        attempt = states[spec.key].current_job
        assert attempt is not None  # submit_missing returned, so every key has a job
        records[spec.pair_id] = job_record(spec, attempt)
    # What the polling rounds watch: every submitted pair, by granule names.
    write_json_atomic(
        Path(submission),
        {
            "pairs": {p.pair_id: [p.reference.name, p.secondary.name] for p in pairs},
            "jobs": records,
        },
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
        download_path(state.downloads, job["job_id"], item["filename"]).exists() for item in files
    )


class RoundProgress:
    """One console line per polling round in which something changed (and a heartbeat)."""

    def __init__(
        self,
        options: str,
        specs: Sequence[JobSpec],
        settled: int,
        ledger: LedgerView,
        products_dir: Path,
        total: int,
    ) -> None:
        self.options = options
        self.settled = settled
        self.total = total
        # Counted once: products the round puts in place add to it (``placed``).
        self.placed_before = _downloaded(products_dir)
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
        self.placed: Callable[[], int] = lambda: 0
        self._last_time = 0.0

    def credits_spent(self) -> float:
        return self.ledger.credits_spent(self.keys)

    def __call__(self, statuses: Counter[str], now: float) -> None:
        counts = Counter(statuses)
        counts["SUCCEEDED"] += self.settled
        downloaded = self.placed_before + self.placed()
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


def round_minimum_seconds(settings: Mapping[str, Any], pairs: int) -> float:
    """How long a round polls at least before it ends to tell Snakemake which pairs settled.

    Ending a round makes Snakemake update its DAG: about 1.5 ms of its CPU per pair in the
    workflow, settled or not (measured at 10,000 pairs). Products are put in place by the round
    itself and nothing downstream starts before all are there, so a round gains nothing by
    ending early; rounds of at least ROUND_SECONDS_PER_PAIR per pair keep those updates to 1 %
    of one core.
    """
    return max(effective_poll_interval(settings), ROUND_SECONDS_PER_PAIR * pairs)


def watch_round(
    settings: Mapping[str, Any],
    submission: Path,
    previous: Path | None,
    output: Path,
    options: str,
    products_dir: Path,
) -> None:
    """One polling round: poll the unsettled pairs, put each product in place as soon as its
    job succeeds, and end once some are placed (and the round is long enough); record them."""
    context = Hyp3Context(settings)
    settled = settled_before(previous)
    pairs = json.loads(Path(submission).read_text())["pairs"]
    every_spec = {pair_id: context.spec(make_pair(*names)) for pair_id, names in pairs.items()}
    specs = [spec for pair_id, spec in every_spec.items() if pair_id not in settled]
    if not specs:
        raise PairFailed(
            f"every pair in {submission} is already settled; delete {output} and rerun"
        )
    log.info("waiting for %d pair(s); %d settled in earlier rounds", len(specs), len(settled))
    products_dir = Path(products_dir)
    progress = RoundProgress(
        options,
        list(every_spec.values()),
        len(settled & set(pairs)),
        context.board.ledger_view,
        products_dir,
        len(pairs),
    )

    def expired(spec: JobSpec, job: Mapping[str, Any]) -> str | None:
        """Why a succeeded job cannot be downloaded any more, or None."""
        expiration = job.get("expiration_time")
        if expiration is None or datetime.fromisoformat(expiration) > datetime.now(UTC):
            return None
        staged = _staged_path(products_dir / spec.pair_id)
        if staged.is_dir() or _cached(context.state, job, products_dir / spec.pair_id):
            return None
        return f"the product of job {job['job_id']} expired on {expiration}"

    stager = ProductStager(
        settings, options, products_dir, context.state, settings["max_downloads"]
    )
    progress.placed = stager.count_placed
    minimum = round_minimum_seconds(settings, len(pairs))
    collect_less_while_listing()
    started = time.monotonic()
    try:
        result = poll_until_any_succeeds(
            specs,
            context.submitter,
            context.board,
            max_resubmits=settings["max_resubmits"],
            timeout=settings["wait_timeout"],
            expired=expired,
            resubmit_expired=settings["resubmit_expired"],
            progress=progress,
            on_succeeded=stager.start,
            keep_polling=lambda _: time.monotonic() - started < minimum or not stager.any_placed(),
        )
    finally:
        succeeded, failed = stager.finish()
    if not succeeded:
        raise PairFailed("\n".join([*result.gave_up.values(), *failed.values()]))
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
            "given_up": {**result.gave_up, **failed},
            "still_waiting": result.still_waiting,
            "settled": sorted(settled | set(succeeded)),
        },
    )


def download_for_placing(
    settings: Mapping[str, Any],
    record: Mapping[str, Any],
    product: Path,
    finished: Path,
    state: Hyp3State,
    session: requests.Session | None = None,
) -> list[tuple[Path, dict[str, Any]]] | None:
    """The network half of putting a succeeded job's product in place (``put_in_place`` is
    the disk half; a polling round runs them in different threads, see ProductStager).

    The job's verified zips in the download cache; None when nothing needs downloading (the
    product is in place, or staged whole, from this job)."""
    product = Path(product)
    if _placed_copy_of(product, Path(finished), record["job_id"]):
        return None
    if _staged_copy_of(_staged_path(product), record["job_id"]):
        return None
    return download_product(
        {"job_id": record["job_id"], "files": record["files"]},
        cache_dir=state.downloads,
        skip_existing=settings["skip_existing"],
        timeout=settings["request_timeout"],
        session=session,
    )


def put_in_place(
    settings: Mapping[str, Any],
    record: Mapping[str, Any],
    product: Path,
    finished: Path,
    zips: list[tuple[Path, dict[str, Any]]] | None,
) -> None:
    """Unpack ``zips`` into the pair's staging directory (``HYP3_STAGED``), then write the
    record and rename the staged product into place.

    The staging directory appears whole or not at all, and is renamed into place after the
    record is written. Should placing be cut short between the two, the staged copy of the
    same job is placed next time without a download. The JSON files are not fsynced, like the
    unpacked rasters beside them: a product is fetched again at no cost, and an fsync per file
    flushes the whole file system's journal, which at thousands of products a minute was a
    good part of a download's time.
    """
    product, finished = Path(product), Path(finished)
    staged = _staged_path(product)
    if zips is not None:
        _stage(settings, record, staged, zips)
    elif not staged.is_dir():
        # Nothing downloaded and nothing staged: the product of this job is in place (a round
        # killed after placing it, before writing its round file, polls it again).
        log.info(
            "pair %s: its product (job %s) is already in place", record["pair"], record["job_id"]
        )
        return
    else:
        log.info("pair %s: its staged product (job %s) is whole", record["pair"], record["job_id"])
    write_json_atomic(finished, dict(record), fsync=False)
    try:
        os.replace(staged, product)
    except FileNotFoundError:
        product.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, product)
    except OSError:  # a product of an earlier job is there (a rename over it fails)
        shutil.rmtree(product)
        os.replace(staged, product)


def _staged_path(product: Path) -> Path:
    return Path(HYP3_STAGED.format(options=product.parent.name, pair=product.name))


def _placed_copy_of(product: Path, finished: Path, job_id: str) -> bool:
    """Whether the product in place is whole and from this job (its record too)."""
    try:
        manifest = json.loads((product / VERIFIED_MANIFEST).read_text())
        placed_record = json.loads(finished.read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("job_id") != job_id or placed_record.get("job_id") != job_id:
        return False
    return all(
        (product / item["folder"] / member).is_file()
        for item in manifest.get("files", [])
        for member in item.get("members", [])
    )


def _staged_copy_of(staged: Path, job_id: str) -> bool:
    try:
        return json.loads((staged / VERIFIED_MANIFEST).read_text()).get("job_id") == job_id
    except (OSError, ValueError):
        return False


def _stage(
    settings: Mapping[str, Any],
    record: Mapping[str, Any],
    staged: Path,
    zips: list[tuple[Path, dict[str, Any]]],
) -> None:
    building = staged.with_name(f".{staged.name}.building")
    shutil.rmtree(building, ignore_errors=True)
    manifest = {
        "job_id": record["job_id"],
        "files": unpack_product(zips, building, keep_zips=settings["keep_zips"]),
        "pair": record["pair"],
        "account": record["account"],
        "expiration_time": record.get("expiration_time"),
        "verified_at": datetime.now(UTC).isoformat(),
    }
    write_json_atomic(building / VERIFIED_MANIFEST, manifest, fsync=False)
    shutil.rmtree(staged, ignore_errors=True)
    os.replace(building, staged)
    log.info(
        "pair %s: %s downloaded, verified and unpacked",
        record["pair"],
        ", ".join(item["folder"] for item in manifest["files"]),
    )


class ProductStager:
    """Puts the products of a round's succeeded jobs in place, in threads, as soon as each
    job succeeds.

    Why here and not in one Snakemake job per pair: a job per pair costs Snakemake a
    scheduling pass (15-30 ms of its CPU at thousands of pairs, and a process start if the
    job runs Python), which dominates at thousands of pairs; threads in the polling round
    cost neither, and a download starts within one polling interval of its job's success.
    Snakemake then finds each product in place, up to date, and runs no job for it.

    ``workers`` threads download (``max_downloads``: the transfers at once), and as many
    others unpack and place, so that a download slot is not held while its product's files
    are written (at thousands of small products a minute, about half of a product's time).
    """

    def __init__(
        self,
        settings: Mapping[str, Any],
        options: str,
        products_dir: Path,
        state: Hyp3State,
        workers: int,
    ) -> None:
        self.settings = settings
        self.options = options
        self.products_dir = products_dir
        self.state = state
        self.downloads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="download")
        self.unpacks = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="unpack")
        self.futures: dict[str, Future[dict[str, Any]]] = {}
        self._sessions = threading.local()  # one HTTP session (kept-alive connection) a thread
        self._placed = 0
        self._count_lock = threading.Lock()

    def start(self, spec: JobSpec, attempt: Attempt, job: Mapping[str, Any]) -> None:
        if spec.pair_id not in self.futures:
            self.start_record(job_record(spec, attempt, job))

    def start_record(self, record: dict[str, Any]) -> None:
        """Put a succeeded job's product in place (``record``: its finished job record)."""
        placed: Future[dict[str, Any]] = Future()
        self.futures[record["pair"]] = placed
        self.downloads.submit(self._download, record, placed)

    def _paths(self, record: Mapping[str, Any]) -> tuple[Path, Path]:
        pair = record["pair"]
        return self.products_dir / pair, Path(HYP3_FINISHED.format(options=self.options, pair=pair))

    def _download(self, record: dict[str, Any], placed: Future[dict[str, Any]]) -> None:
        session = getattr(self._sessions, "session", None)
        if session is None:
            session = self._sessions.session = requests.Session()
        try:
            zips = download_for_placing(
                self.settings, record, *self._paths(record), self.state, session
            )
        except BaseException as error:  # handed to finish(), which tells failures from bugs
            placed.set_exception(error)
            return
        self.unpacks.submit(self._put, record, zips, placed)

    def _put(
        self,
        record: dict[str, Any],
        zips: list[tuple[Path, dict[str, Any]]] | None,
        placed: Future[dict[str, Any]],
    ) -> None:
        try:
            put_in_place(self.settings, record, *self._paths(record), zips)
        except BaseException as error:
            placed.set_exception(error)
            return
        with self._count_lock:
            self._placed += 1
        placed.set_result(record)

    def any_placed(self) -> bool:
        return self._placed > 0

    def count_placed(self) -> int:
        return self._placed

    def finish(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """Wait for every started download: (records of placed pairs, failures by pair)."""
        placed: dict[str, dict[str, Any]] = {}
        failed: dict[str, str] = {}
        try:
            for pair_id, future in self.futures.items():
                try:
                    placed[pair_id] = future.result()
                except UserError as error:
                    failed[pair_id] = f"pair {pair_id}: {error}"
                    log.error("%s", failed[pair_id])
        finally:
            self.downloads.shutdown(cancel_futures=True)
            self.unpacks.shutdown(cancel_futures=True)
        return placed, failed


def fetch_settled_product(
    settings: Mapping[str, Any], pair: Pair, round_file: Path, product: Path, finished: Path
) -> None:
    """Put a settled pair's product in place again: the round that saw its job succeed placed
    it, and it is gone (e.g. deleted to be fetched anew, or its placing was cut short)."""
    product, finished = Path(product), Path(finished)
    record = read_round(round_file)["succeeded"][pair.pair_id]
    expiration = record.get("expiration_time")
    if (
        expiration
        and datetime.fromisoformat(expiration) <= datetime.now(UTC)
        and not _staged_copy_of(_staged_path(product), record["job_id"])
    ):
        raise PairFailed(
            f"pair {pair.pair_id}: the product of job {record['job_id']} expired on "
            f"{expiration} and is no longer on disk; delete {round_file} and rerun with "
            "hyp3.resubmit_expired: true to pay for it again"
        )
    zips = download_for_placing(settings, record, product, finished, Hyp3State())
    put_in_place(settings, record, product, finished, zips)


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
