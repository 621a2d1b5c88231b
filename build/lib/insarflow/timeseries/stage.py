"""The stage's three rule steps: clip, MintPy, export (called from scripts/timeseries_*.py)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from insarflow.errors import UserError
from insarflow.timeseries.clip import clip_products
from insarflow.timeseries.export import copy_result, export_products
from insarflow.timeseries.smallbaseline import final_timeseries, kmz_file, run_smallbaseline

log = logging.getLogger(__name__)

__all__ = ["clip_products", "copy_kmz", "export", "run_mintpy"]


def run_mintpy(
    settings: Mapping[str, Any],
    clipped_dir: str | Path,
    work_dir: str | Path,
    template: str | Path,
    step_log_dir: str | Path,
    record: str | Path,
    timeseries_out: str | Path,
    velocity_out: str | Path,
    threads: int = 1,
) -> None:
    """Run smallbaselineApp on the clipped stack and put its results under stable names."""
    outcomes = run_smallbaseline(
        settings, clipped_dir, work_dir, template, step_log_dir, record, threads
    )
    total = sum(outcome.seconds for outcome in outcomes)
    log.info("MintPy: %d steps in %.1f s", len(outcomes), total)
    final = final_timeseries(work_dir)
    log.info("final time series: %s", final.name)
    copy_result(final, timeseries_out)
    copy_result(Path(work_dir) / "velocity.h5", velocity_out)


def copy_kmz(work_dir: str | Path, kmz_out: str | Path) -> None:
    """MintPy's KMZ of the velocity (google_earth step) under the stage's stable name."""
    kmz = kmz_file(work_dir)
    if kmz is None:
        raise UserError(f"MintPy made no KMZ in {work_dir}; set timeseries.kmz: false")
    copy_result(kmz, kmz_out)


def export(
    settings: Mapping[str, Any],
    velocity_h5: str | Path,
    timeseries_h5: str | Path,
    mintpy_dir: str | Path,
    outputs: Mapping[str, str],
) -> None:
    """GeoTIFFs (mm/yr) and PNGs of the velocity and the displacement."""
    export_products(
        velocity_h5,
        timeseries_h5,
        mintpy_dir,
        velocity_tif=outputs["velocity_tif"],
        velocity_std_tif=outputs["velocity_std_tif"],
        coherence_tif=outputs["coherence_tif"],
        velocity_png=outputs["velocity_png"],
        displacement_png=outputs["displacement_png"],
        min_temporal_coherence=settings["min_temporal_coherence"],
    )
