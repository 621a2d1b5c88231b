"""Benchmark: making every report item for a large project (a script, not a timed test).

Writes synthetic inputs in the workflow's real layouts (tests/report/synthetic.py) for
``--pairs`` pairs, then times the package functions the report rules call, one after another
on one core (Snakemake runs the quicklook pages as separate jobs, so a real run is faster):

* the pair network and temporal-baseline histogram (baselines from every product's ``.txt``);
* the HyP3 job timeline (ledger, status boards, finished records; 5 % of the jobs failed and
  resubmitted) and the credits / expiry tables from ``status.tsv``;
* every quicklook page: unwrapped phase and coherence of every pair, 36 a page, from
  ``--size`` x ``--size`` GeoTIFFs (a 20x4-look INSAR_GAMMA product is about 1000 x 1300);
* an ISCE stack's Gantt chart and step wall times from one command log per command
  (``--pairs`` commands in each pair step);
* the MintPy displacement figures (``--pairs`` interferograms, ``--size`` / 3 pixels a side).

Goal (issue 12): every item for 1,000 pairs in under a minute.

    /work/main/.venv/bin/python benchmarks/report_scale.py                 # 1000 pairs
    /work/main/.venv/bin/python benchmarks/report_scale.py --pairs 200 --size 600
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from insarflow.report import pages as page_layout  # noqa: E402
from insarflow.report import run  # noqa: E402
from tests.report import synthetic  # noqa: E402

GOAL_SECONDS = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--size", type=int, default=300, help="product raster side (pixels)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="insarflow-report-bench-"))
    try:
        started = time.perf_counter()
        pair_dates = synthetic.sequential_pair_dates(args.pairs, connections=5)
        products = [
            str(p) for p in synthetic.make_products(work / "products", pair_dates, args.size)
        ]
        failed = set(list(pair_dates)[::20])
        state = synthetic.make_hyp3_state(work, list(pair_dates), failed=failed)
        dates = len({d for pair in pair_dates.values() for d in pair})
        steps = {
            "unpack_topo_reference": 1,
            "unpack_secondary_slc": dates - 1,
            "average_baseline": dates - 1,
            "fullBurst_geo2rdr": dates - 1,
            "fullBurst_resample": dates - 1,
            "extract_stack_valid_region": 1,
            "merge_reference_secondary_slc": dates - 1,
            "generate_burst_igram": args.pairs,
            "merge_burst_igram": args.pairs,
            "filter_coherence": args.pairs,
            "unwrap": args.pairs,
        }
        plan, logs = synthetic.make_isce_logs(work, steps, parallel=12)
        mintpy = synthetic.make_mintpy(work / "mintpy", dates=dates, size=max(30, args.size // 3))
        print(
            f"inputs: {args.pairs} pairs over {dates} dates, {args.size}x{args.size} px layers, "
            f"{sum(steps.values())} ISCE command logs, written in "
            f"{time.perf_counter() - started:.1f} s ({work})"
        )

        out = work / "report"
        pages = page_layout.page_count(len(products))
        timings: dict[str, float] = {}

        def timed(name: str, func, *func_args) -> None:
            start = time.perf_counter()
            func(*func_args)
            timings[name] = time.perf_counter() - start

        timed(
            "pair network + temporal baselines",
            run.hyp3_network,
            products,
            pair_dates,
            str(out / "network.png"),
            str(out / "temporal_baselines.png"),
        )
        timed(
            "HyP3 job timeline + credits/expiry table",
            run.hyp3_jobs_report,
            str(state["status"]),
            [str(p) for p in state["finished"]],
            products,
            str(state["ledger"]),
            str(state["board"]),
            str(out / "job_timeline.png"),
            str(out / "credits_and_expiry.html"),
        )

        def all_pages() -> None:
            for layer in page_layout.LAYERS:
                for page in range(1, pages + 1):
                    chunk = products[page_layout.page_slice(page)]
                    run.quicklook_page(
                        chunk,
                        layer,
                        page,
                        pages,
                        str(out / "quicklooks" / layer / f"page-{page:03d}.png"),
                    )

        timed(f"quicklooks ({2 * pages} pages, {2 * len(products)} thumbnails)", all_pages)
        timed(
            "ISCE Gantt + step wall times",
            run.isce_timing_report,
            str(plan),
            str(logs),
            str(out / "gantt.png"),
            str(out / "steps.png"),
            "ISCE stack",
        )
        timed(
            "displacement (velocity, std, time series, coherence matrix)",
            run.displacement_report,
            str(mintpy["velocity"]),
            str(mintpy["timeseries"]),
            str(mintpy["ifgramStack"]),
            str(mintpy["geometryGeo"]),
            *(str(out / f"{name}.png") for name in ("v", "s", "t", "c")),
            str(mintpy["mask"]),
        )

        width = max(len(name) for name in timings)
        for name, seconds in timings.items():
            print(f"  {name:<{width}}  {seconds:6.1f} s")
        total = sum(timings.values())
        verdict = "OK" if total < GOAL_SECONDS else "OVER GOAL"
        print(
            f"report items for {args.pairs} pairs: {total:.1f} s  (goal < {GOAL_SECONDS:.0f} s)  {verdict}"
        )
        if args.keep:
            print(f"kept {out}")
        return 0 if total < GOAL_SECONDS else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
