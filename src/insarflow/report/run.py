"""One function per report rule (called by ``scripts/report_*.py`` through ``run_step``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from insarflow.report import displacement, hyp3_jobs, isce_timing, network, quicklooks
from insarflow.report.pages import LAYERS as QUICKLOOK_LAYERS
from insarflow.report.products import read_product

log = logging.getLogger(__name__)


def hyp3_network(
    product_dirs: Sequence[str],
    pair_dates: Mapping[str, Sequence[str]],
    network_png: str,
    histogram_png: str,
    title: str = "HyP3 pairs",
) -> bool:
    """Network and temporal baselines of the pairs; baselines from the products' ``.txt``.

    Without products (the planned network, before anything is submitted) it shows dates only.
    """
    baselines = {}
    for product_dir in product_dirs:
        product = read_product(product_dir)
        baselines[product.pair_id] = product.baseline()
    pairs = network.network_pairs(pair_dates, baselines)
    with_baselines = network.plot_network(pairs, network_png, title)
    network.plot_temporal_baselines(pairs, histogram_png, title)
    log.info(
        "%d pairs, %d with a baseline; graph %s",
        len(pairs),
        sum(p.baseline is not None for p in pairs),
        "with baselines" if with_baselines else "dates only",
    )
    return with_baselines


def stack_network(
    plan_file: str,
    pair_dates: Mapping[str, Sequence[str]],
    network_png: str,
    histogram_png: str,
    title: str,
) -> bool:
    """Network of an ISCE stack from its dates and pairs, baselines from its ``baselines/``."""
    work_dir = json.loads(Path(plan_file).read_text())["work_dir"]
    per_date = network.stack_date_baselines(work_dir)
    baselines = {
        pair_id: per_date[second] - per_date[first]
        for pair_id, (first, second) in pair_dates.items()
        if first in per_date and second in per_date
    }
    pairs = network.network_pairs(pair_dates, baselines)
    with_baselines = network.plot_network(
        pairs,
        network_png,
        title,
        f"the stack's baselines/ has {len(per_date)} of the "
        f"{len({d for p in pairs for d in (p.reference, p.secondary)})} dates",
    )
    network.plot_temporal_baselines(pairs, histogram_png, title)
    log.info("%d pairs; graph %s", len(pairs), "with baselines" if with_baselines else "dates only")
    return with_baselines


def _read_json(path: str | Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def hyp3_jobs_report(
    status_tsv: str,
    finished_records: Sequence[str],
    product_dirs: Sequence[str],
    ledger: str,
    board_dir: str,
    timeline_png: str,
    table_html: str,
) -> None:
    """Timeline of every HyP3 job, and the credits / expiry tables of ``status.tsv``."""
    records = [_read_json(path) for path in finished_records]
    board, polled = hyp3_jobs.read_board(board_dir)
    downloads = {}
    for product_dir in product_dirs:
        product = read_product(product_dir)
        downloads[product.pair_id] = hyp3_jobs.parse_time(product.verified_at)
    spans = hyp3_jobs.job_spans(ledger, board, polled, records, downloads)
    hyp3_jobs.plot_job_timeline(spans, timeline_png)
    written = hyp3_jobs.write_status_html(status_tsv, records, table_html)
    log.info(
        "%d jobs on the timeline; %d accounts, %d products (%d expiring soon)",
        len(spans),
        len(written["accounts"]),
        len(written["products"]),
        written["expiring"],
    )


def quicklook_page(
    product_dirs: Sequence[str], layer: str, page: int, pages: int, output: str
) -> None:
    """One page of thumbnails of ``layer`` for the products on that page."""
    spec = QUICKLOOK_LAYERS[layer]
    cells = []
    for product_dir in product_dirs:
        product = read_product(product_dir)
        cells.append((product.pair_id, product.layer(spec.suffix)))
    quicklooks.write_page(cells, spec, output, page, pages)
    log.info("page %d of %d: %d %s thumbnails", page, pages, len(cells), layer)


def isce_timing_report(
    plan_file: str, log_dir: str, gantt_png: str, steps_png: str, title: str
) -> None:
    """Gantt chart of the stack's commands and wall time per step, from the command logs."""
    spans = isce_timing.stack_spans(plan_file, log_dir)
    isce_timing.plot_gantt(spans, gantt_png, title)
    isce_timing.plot_step_wall_times(spans, steps_png, title)
    log.info("%d command logs read from %s", len(spans), log_dir)


def displacement_report(
    velocity_h5: str,
    timeseries_h5: str,
    ifgram_stack_h5: str,
    geometry_h5: str | None,
    velocity_png: str,
    velocity_std_png: str,
    time_series_png: str,
    coherence_matrix_png: str,
    mask_h5: str | None = None,
) -> None:
    """Velocity and its standard deviation maps, point time series and coherence matrix."""
    mask = mask_h5 if mask_h5 and Path(mask_h5).exists() else None
    displacement.plot_velocity_map(velocity_h5, velocity_png, geometry_h5, mask_h5=mask)
    displacement.plot_velocity_map(
        velocity_h5, velocity_std_png, geometry_h5, "velocityStd", mask_h5=mask
    )
    displacement.plot_point_time_series(timeseries_h5, velocity_h5, time_series_png, mask)
    shown = displacement.plot_coherence_matrix(ifgram_stack_h5, coherence_matrix_png)
    log.info("displacement figures written; coherence matrix of %d pairs", shown)
