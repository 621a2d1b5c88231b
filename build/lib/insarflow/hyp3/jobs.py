"""What a HyP3 job for a pair is: its parameters, its stable key and its name.

The key hashes the job type, the granules and every job parameter, so the same pair with
the same options always maps to the same key (and job name), and a changed option is a
different job. The key is what the ledger uses to guarantee one paid job per pair.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hyp3_sdk import HyP3

from insarflow.pairs import Pair

KEY_LENGTH = 10
# Config options that define a job (everything else only changes how it is handled).
HYP3_JOB_OPTIONS = (
    "job_type",
    "name_prefix",
    "looks",
    "phase_filter_parameter",
    "apply_water_mask",
    "include_dem",
    "include_look_vectors",
    "include_inc_map",
    "include_los_displacement",
    "include_wrapped_phase",
    "include_displacement_maps",
)
MAX_JOB_NAME = 100


@dataclass(frozen=True)
class JobSpec:
    """One HyP3 job to be paid for once: the prepared request plus its identity."""

    pair_id: str
    key: str
    name: str
    job_type: str
    prepared: dict[str, Any]

    @property
    def granules(self) -> list[str]:
        return list(self.prepared["job_parameters"]["granules"])


def job_key(job_type: str, job_parameters: Mapping[str, Any]) -> str:
    """Stable hash of the job type and its (granule-ordered) parameters."""
    parameters = dict(job_parameters)
    # HyP3 orders a pair itself, so the granule order does not make a different job.
    parameters["granules"] = sorted(parameters.get("granules", []))
    canonical = json.dumps(
        {"job_type": job_type, "job_parameters": parameters},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:KEY_LENGTH]


def prepare_job(
    reference: str | Sequence[str], secondary: str | Sequence[str], options: Mapping[str, Any]
) -> dict[str, Any]:
    """The job request for two granules (or two burst lists), from hyp3_sdk's ``prepare_*``."""
    job_type = options["job_type"]
    if job_type == "INSAR_ISCE_MULTI_BURST":
        return prepare_multi_burst_job(reference, secondary, options)
    if job_type == "INSAR_GAMMA":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            prepared = HyP3.prepare_insar_job(
                granule1=reference,
                granule2=secondary,
                include_look_vectors=options["include_look_vectors"],
                # Deprecated upstream in favour of include_displacement_maps, which
                # yields the same los_disp layer (plus vert_disp).
                include_los_displacement=False,
                include_inc_map=options["include_inc_map"],
                looks=options["looks"],
                include_dem=options["include_dem"],
                include_wrapped_phase=options["include_wrapped_phase"],
                apply_water_mask=options["apply_water_mask"],
                include_displacement_maps=bool(
                    options["include_displacement_maps"] or options["include_los_displacement"]
                ),
                phase_filter_parameter=options["phase_filter_parameter"],
            )
    elif job_type == "INSAR_ISCE_BURST":
        prepared = HyP3.prepare_insar_isce_burst_job(
            granule1=reference,
            granule2=secondary,
            apply_water_mask=options["apply_water_mask"],
            looks=options["looks"],
        )
    else:  # the schema's enum makes this unreachable for validated configs
        raise ValueError(f"unsupported job type {job_type}")
    return prepared


def prepare_multi_burst_job(
    reference: str | Sequence[str], secondary: str | Sequence[str], options: Mapping[str, Any]
) -> dict[str, Any]:
    """An INSAR_ISCE_MULTI_BURST request: the burst lists of the two dates, reference first."""
    return HyP3.prepare_insar_isce_multi_burst_job(
        reference=[reference] if isinstance(reference, str) else list(reference),
        secondary=[secondary] if isinstance(secondary, str) else list(secondary),
        apply_water_mask=options["apply_water_mask"],
        looks=options["looks"],
    )


def build_job(pair: Pair, options: Mapping[str, Any]) -> JobSpec:
    """The HyP3 job for a pair: its request, its stable key and its name."""
    job_type = options["job_type"]
    prepared = prepare_job(pair.reference.name, pair.secondary.name, options)
    key = job_key(job_type, prepared["job_parameters"])
    name = f"{options['name_prefix']}_{pair.pair_id}_{key}"[:MAX_JOB_NAME]
    prepared["name"] = name
    return JobSpec(pair_id=pair.pair_id, key=key, name=name, job_type=job_type, prepared=prepared)


def job_cost(costs: Mapping[str, Any], spec: JobSpec) -> float:
    """Credits one job costs, from the server's /costs table (as HyP3 computes it)."""
    entry = costs.get(spec.job_type)
    if entry is None:
        return 1.0
    if "cost" in entry:
        return float(entry["cost"])
    table: Any = entry["cost_table"]
    for parameter in entry["cost_parameters"]:
        value = spec.prepared["job_parameters"].get(parameter)
        if isinstance(value, list):
            value = len(value)
        elif isinstance(value, float):
            value = int(value)
        table = table[str(value)]
    return float(table)


def options_label(options: Mapping[str, Any]) -> str:
    """Readable, stable name of one set of job options, e.g. ``INSAR_GAMMA_20x4_3fa9c2d1e0``.

    Products, rounds and job records are keyed by it. It hashes the job parameters as HyP3
    receives them (granules aside), so two spellings of the same job (the deprecated
    include_los_displacement, a different name_prefix) share one label, like they share jobs.
    """
    prepared = prepare_job("reference", "secondary", options)
    parameters = {
        k: v
        for k, v in prepared["job_parameters"].items()
        if k not in ("granules", "reference", "secondary")
    }
    return f"{options['job_type']}_{options['looks']}_{job_key(options['job_type'], parameters)}"
