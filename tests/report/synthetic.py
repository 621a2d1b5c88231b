"""Small synthetic inputs in the workflow's real layouts, for report unit tests and the benchmark.

* HyP3 product directories as ``hyp3_download`` leaves them (``verified.json`` + unpacked
  folder with GeoTIFF layers and the ``.txt``);
* a ledger, status boards (``Job.to_dict()`` records), finished records and ``status.tsv``;
* ISCE command logs as :mod:`insarflow.isce.commands` writes them, with their ``plan.json``;
* MintPy HDF5 files (``velocity.h5``, ``timeseries.h5``, ``ifgramStack.h5``, ``geometryGeo.h5``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import h5py
import numpy as np
import rasterio
from rasterio.transform import from_origin

from insarflow.hyp3.board import BOARD_SUFFIX, BoardLog

START = date(2026, 1, 1)


def sequential_pair_dates(pairs: int, connections: int = 3) -> dict[str, tuple[str, str]]:
    """``pairs`` pair ids -> (reference, secondary) YYYYMMDD over 12-day acquisitions."""
    result: dict[str, tuple[str, str]] = {}
    index = 0
    while len(result) < pairs:
        for span in range(1, connections + 1):
            first = START + timedelta(days=12 * index)
            second = first + timedelta(days=12 * span)
            a, b = first.strftime("%Y%m%d"), second.strftime("%Y%m%d")
            result[f"{a}T120000_{b}T120000"] = (a, b)
            if len(result) == pairs:
                break
        index += 1
    return result


def per_date_baseline(day: str) -> float:
    """A deterministic orbit tube: per-date perpendicular position (m)."""
    ordinal = datetime.strptime(day, "%Y%m%d").toordinal()
    return float(120.0 * np.sin(ordinal * 0.7) + 30.0 * np.cos(ordinal * 0.13))


def write_tif(path: Path, values: np.ndarray, nodata: float = 0.0) -> None:
    rows, cols = values.shape
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype="float32",
        crs="EPSG:32614",
        transform=from_origin(500000, 2200000, 80, 80),
        nodata=nodata,
    ) as raster:
        raster.write(values.astype("float32"), 1)


def make_product(
    root: Path, pair_id: str, dates: tuple[str, str], size: int = 64, seed: int = 0
) -> Path:
    """One verified product directory; returns it."""
    rng = np.random.default_rng(seed)
    name = f"S1AA_{dates[0]}T120000_{dates[1]}T120000_VVP012_INT80_G_ueF_{seed % 65536:04X}"
    product_dir = root / pair_id
    folder = product_dir / name
    folder.mkdir(parents=True)
    y, x = np.mgrid[0:size, 0:size] / size
    days = (datetime.strptime(dates[1], "%Y%m%d") - datetime.strptime(dates[0], "%Y%m%d")).days
    bowl = np.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) * 12)
    phase = days / 12 * 6.0 * bowl + 3 * x + rng.normal(0, 0.3, (size, size))
    coherence = np.clip(
        0.9 - days / 200 - 0.4 * (x > 0.7) + rng.normal(0, 0.05, (size, size)), 0.01, 1
    )
    phase[:3, :] = 0.0  # a nodata strip like HyP3's edges
    coherence[:3, :] = 0.0
    write_tif(folder / f"{name}_unw_phase.tif", phase)
    write_tif(folder / f"{name}_corr.tif", coherence)
    baseline = per_date_baseline(dates[1]) - per_date_baseline(dates[0])
    (folder / f"{name}.txt").write_text(
        f"Reference Granule: S1A_IW_SLC__1SDV_{dates[0]}T120000_X\n"
        f"Baseline: {baseline:.4f}\nUTC time: 43200.0\nUnwrapping type: mcf\n"
    )
    verified = datetime(2026, 3, 1, 12, tzinfo=UTC) + timedelta(minutes=seed)
    (product_dir / "verified.json").write_text(
        json.dumps(
            {
                "pair": pair_id,
                "files": [{"folder": name, "filename": f"{name}.zip"}],
                "verified_at": verified.isoformat(),
                "account": "alice",
            }
        )
    )
    return product_dir


def make_products(root: Path, pair_dates: dict[str, tuple[str, str]], size: int = 64) -> list[Path]:
    return [
        make_product(root, pair_id, dates, size, seed)
        for seed, (pair_id, dates) in enumerate(pair_dates.items())
    ]


def make_hyp3_state(
    root: Path, pair_ids: list[str], failed: set[str] = frozenset(), accounts=("alice", "bob")
) -> dict[str, Path]:
    """Ledger, status boards, finished records and status.tsv for ``pair_ids``.

    Pairs in ``failed`` have a FAILED first job resubmitted as attempt 2 (which succeeded).
    """
    ledger = root / ".insarflow/hyp3/ledger.jsonl"
    board_dir = root / ".insarflow/hyp3/poll"
    finished_dir = root / "results/hyp3/finished"
    for directory in (ledger.parent, board_dir, finished_dir):
        directory.mkdir(parents=True, exist_ok=True)
    t0 = datetime(2026, 3, 1, 10, tzinfo=UTC)
    lines, boards, finished, rows = [], {a: {} for a in accounts}, [], []
    for number, pair_id in enumerate(pair_ids):
        account = accounts[number % len(accounts)]
        key = f"key-{pair_id}"
        attempts = (
            [("new", "FAILED"), (None, "SUCCEEDED")]
            if pair_id in failed
            else [("new", "SUCCEEDED")]
        )
        submitted = t0 + timedelta(seconds=number * 2)
        for attempt, (reason, status) in enumerate(attempts, start=1):
            job_id = f"job-{number}-{attempt}"
            reason = reason or f"failed:job-{number}-{attempt - 1}"
            intent = {
                "event": "intent",
                "key": key,
                "pair": pair_id,
                "attempt": attempt,
                "name": f"ifg-{key}",
                "account": account,
                "reason": reason,
                "time": submitted.isoformat(timespec="seconds"),
            }
            done = {
                "event": "submitted",
                "key": key,
                "pair": pair_id,
                "attempt": attempt,
                "job_id": job_id,
                "time": submitted.isoformat(timespec="seconds"),
            }
            lines += [intent, done]
            processing = 600.0 + 37 * (number % 11)
            seen = submitted + timedelta(seconds=processing + 300 + 20 * (number % 7))
            boards[account][job_id] = {
                "job_id": job_id,
                "job_type": "INSAR_GAMMA",
                "status_code": status,
                "request_time": submitted.isoformat(timespec="seconds"),
                "processing_times": [processing] if status == "SUCCEEDED" else None,
                "credit_cost": 10.0,
                "expiration_time": (t0 + timedelta(days=14 - number % 16)).isoformat(),
            }
            if status == "SUCCEEDED":
                record = {
                    "pair": pair_id,
                    "job_id": job_id,
                    "status_code": status,
                    "recorded_at": seen.isoformat(timespec="seconds"),
                    "expiration_time": boards[account][job_id]["expiration_time"],
                }
                finished.append(finished_dir / f"{pair_id}.json")
                finished[-1].write_text(json.dumps(record))
                rows.append(
                    [
                        pair_id,
                        account,
                        job_id,
                        status,
                        f"PRODUCT_{number}",
                        f"{10 * attempt:g}",
                        str(attempt),
                    ]
                )
            submitted = seen
    ledger.write_text("".join(json.dumps(line) + "\n" for line in lines))
    polled = (t0 + timedelta(days=1)).timestamp()
    for account, jobs in boards.items():
        BoardLog(board_dir / f"{account}{BOARD_SUFFIX}").append(polled, jobs)
    status = root / "results/hyp3/status.tsv"
    header = ["pair", "account", "job_id", "status", "product", "credits_spent", "attempts"]
    status.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n")
    return {"ledger": ledger, "board": board_dir, "status": status, "finished": finished}


def make_isce_logs(
    root: Path, steps: dict[str, int], parallel: int = 2, failed: tuple[str, int] | None = None
) -> tuple[Path, Path]:
    """A plan.json and one command log per command (``parallel`` at once); (plan, log dir)."""
    log_dir = root / "logs/isce/abcdef012345"
    plan_steps = []
    clock = datetime(2026, 4, 1, 8, 0, 0)
    for number, (step_kind, count) in enumerate(steps.items(), start=1):
        step = f"run_{number:02d}_{step_kind}"
        plan_steps.append(
            {"name": step, "commands": [{"index": i, "lines": ["x"]} for i in range(1, count + 1)]}
        )
        lanes = [clock] * parallel
        for index in range(1, count + 1):
            lane = min(range(parallel), key=lambda i: lanes[i])
            start = lanes[lane] + timedelta(seconds=2)
            seconds = 30.0 + 10 * number + (index % 5) * 7.5
            lanes[lane] = start + timedelta(seconds=seconds)
            path = log_dir / step / f"{index:04d}.log"
            path.parent.mkdir(parents=True, exist_ok=True)
            ending = (
                f"# FAILED: exit code 1 after {seconds:.1f} s"
                if failed == (step, index)
                else f"# done in {seconds:.3f} s"
            )
            path.write_text(
                f"# {start.isoformat(timespec='milliseconds')}Z {step} command {index} on node1, 1 thread(s)\n"
                f"# $ python3 something.py -i config_{index}\nworking...\n{ending}\n"
            )
        clock = max(lanes)
    plan = root / "results/isce/abcdef012345/plan.json"
    plan.parent.mkdir(parents=True, exist_ok=True)
    plan.write_text(json.dumps({"steps": plan_steps, "dates": []}))
    return plan, log_dir


def make_mintpy(root: Path, dates: int = 10, size: int = 60) -> dict[str, Path]:
    """MintPy-layout HDF5 files of a subsiding bowl (geocoded in UTM)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    days = [START + timedelta(days=12 * i) for i in range(dates)]
    names = [d.strftime("%Y%m%d").encode() for d in days]
    y, x = np.mgrid[0:size, 0:size] / size
    bowl = np.exp(-((x - 0.6) ** 2 + (y - 0.4) ** 2) * 25)
    velocity = (-0.05 * bowl + rng.normal(0, 0.001, (size, size))).astype("float32")  # m/yr
    velocity[:, :2] = 0.0  # MintPy's zero outside the processed area
    attrs = {
        "REF_Y": "50",
        "REF_X": "10",
        "X_FIRST": "500000",
        "Y_FIRST": "2200000",
        "X_STEP": "80",
        "Y_STEP": "-80",
        "X_UNIT": "meters",
        "UNIT": "m/year",
        "START_DATE": days[0].strftime("%Y%m%d"),
        "END_DATE": days[-1].strftime("%Y%m%d"),
        "FILE_TYPE": "velocity",
    }
    paths = {
        name: root / f"{name}.h5"
        for name in ("velocity", "timeseries", "ifgramStack", "geometryGeo")
    }
    with h5py.File(paths["velocity"], "w") as handle:
        handle["velocity"] = velocity
        handle["velocityStd"] = (0.002 + 0.004 * x + rng.normal(0, 0.0003, (size, size))).astype(
            "float32"
        )
        handle.attrs.update(attrs)
    years = np.array([(d - days[0]).days / 365.25 for d in days])
    series = velocity[None] * years[:, None, None] + rng.normal(0, 0.002, (dates, size, size))
    series -= series[:, 50, 10][:, None, None]
    with h5py.File(paths["timeseries"], "w") as handle:
        handle["timeseries"] = series.astype("float32")
        handle["date"] = np.array(names)
        handle.attrs.update(
            {**attrs, "FILE_TYPE": "timeseries", "UNIT": "m", "REF_DATE": names[0].decode()}
        )
    pairs = [(i, j) for i in range(dates) for j in range(i + 1, min(i + 4, dates))]
    with h5py.File(paths["ifgramStack"], "w") as handle:
        handle["date"] = np.array([[names[i], names[j]] for i, j in pairs])
        handle["coherence"] = np.stack(
            [
                np.clip(0.95 - 0.08 * (j - i) - 0.3 * x + rng.normal(0, 0.05, (size, size)), 0, 1)
                for i, j in pairs
            ]
        ).astype("float32")
        handle["dropIfgram"] = np.array([not (j - i == 3 and i % 2) for i, j in pairs])
        handle.attrs.update({**attrs, "FILE_TYPE": "ifgramStack"})
    paths["mask"] = root / "maskTempCoh.h5"
    with h5py.File(paths["mask"], "w") as handle:
        handle["mask"] = x < 0.9  # the east edge is unreliable
        handle.attrs.update({**attrs, "FILE_TYPE": "mask"})
    with h5py.File(paths["geometryGeo"], "w") as handle:
        handle["height"] = (2200 + 400 * np.sin(6 * x) * np.cos(4 * y) + 200 * y).astype("float32")
        handle.attrs.update({**attrs, "FILE_TYPE": "geometry"})
    return paths
