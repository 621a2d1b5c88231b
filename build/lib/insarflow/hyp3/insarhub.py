"""Adopt jobs an InSARHub run already paid for, so moving over resubmits nothing.

InSARHub saves ``hyp3_jobs.json`` as ``{"job_ids": {"<user>": ["<job id>", ...]}, "out_dir": ...}``.
Each job is fetched by id (HyP3 jobs are readable by id with any account); a job whose job
type and parameters equal those insarflow would submit for one of the configured pairs is
recorded in the ledger as that pair's job. Others are reported and left alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from hyp3_sdk.exceptions import HyP3SDKError

from insarflow.errors import UserError
from insarflow.hyp3.client import HttpRefusal
from insarflow.hyp3.jobs import JobSpec, job_key
from insarflow.hyp3.ledger import Ledger
from insarflow.hyp3.submit import Submitter

log = logging.getLogger(__name__)


def read_insarhub_job_ids(path: Path) -> dict[str, list[str]]:
    try:
        content = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"hyp3.import_insarhub_jobs = '{path}' does not exist") from None
    except json.JSONDecodeError as error:
        raise UserError(
            f"hyp3.import_insarhub_jobs = '{path}' is not JSON ({error.msg} at line {error.lineno})"
        ) from None
    job_ids = content.get("job_ids") if isinstance(content, dict) else None
    if not isinstance(job_ids, dict) or not all(isinstance(ids, list) for ids in job_ids.values()):
        raise UserError(
            f"hyp3.import_insarhub_jobs = '{path}' is not an InSARHub job file "
            '(expected {"job_ids": {"<user>": ["<job id>", ...]}})'
        )
    return job_ids


def import_insarhub_jobs(
    path: Path, specs: Sequence[JobSpec], ledger: Ledger, submitter: Submitter
) -> int:
    """Record matching InSARHub jobs in the ledger (caller holds the ledger lock)."""
    by_key = {spec.key: spec for spec in specs}
    states = ledger.state()
    known = {job_id for state in states.values() for job_id in state.job_ids}
    reader = next(iter(submitter.accounts))
    adopted = 0
    for user, job_ids in read_insarhub_job_ids(path).items():
        account = user if user in submitter.accounts else reader
        for job_id in job_ids:
            if job_id in known:
                continue
            try:
                job = submitter.client(account).get_job_by_id(job_id)
            except (HyP3SDKError, HttpRefusal) as error:
                log.warning(
                    "InSARHub job %s of %s could not be read (%s); skipped", job_id, user, error
                )
                continue
            spec = by_key.get(job_key(job.job_type, job.job_parameters or {}))
            if spec is None:
                log.warning(
                    "InSARHub job %s (%s %s) matches no configured pair with the configured options; not adopted",
                    job_id,
                    job.job_type,
                    (job.job_parameters or {}).get("granules"),
                )
                continue
            state = states.get(spec.key)
            if state is not None and state.current_job is not None:
                log.info(
                    "pair %s already has job %s; InSARHub job %s not adopted",
                    spec.pair_id,
                    state.current_job.job_id,
                    job_id,
                )
                continue
            ledger.append(
                "imported",
                key=spec.key,
                pair=spec.pair_id,
                name=job.name or spec.name,
                account=account,
                attempt=1 if state is None else len(state.attempts) + 1,
                job_id=job_id,
                reason="insarhub",
            )
            states = ledger.state()
            known.add(job_id)
            adopted += 1
            log.info("pair %s: adopted InSARHub job %s (%s)", spec.pair_id, job_id, job.status_code)
    return adopted
