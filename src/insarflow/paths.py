"""Where the workflow writes: every output-path template and wildcard pattern, once.

The rules (``rules/*.smk``) and the package build their paths from these templates, so a path
or a wildcard pattern is never spelled twice. ``{options}`` is the label of one set of job
options (``insarflow.hyp3.jobs.options_label``): products are keyed by what defines them, so
a changed option makes new jobs and new product directories, and the old ones stay untouched.

Private state that must survive Snakemake deleting outputs lives under ``.insarflow/hyp3``
(``Hyp3State``); which file there is the truth and which a cache is documented in the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Wildcard patterns (rules/common.smk's wildcard_constraints use these).
HYP3_OPTIONS_PATTERN = r"[A-Z0-9_]+_\d+x\d+_[0-9a-f]{10}"
# A pair id (insarflow.pairs: SLC, burst, date and multi-burst pairs). A shape, not the list
# of configured pairs: an alternation of N ids makes every path match O(N), the DAG O(N^2).
PAIR_PATTERN = r"[A-Za-z0-9_-]+"
ROUND_PATTERN = r"\d+"

# ISCE2 stacks: results/isce/<fingerprint>/ and resources/dem/glo30_<key>/. The hashes are cut
# to these lengths where they are made (insarflow.isce.stack, insarflow.isce.dem).
ISCE_FINGERPRINT_LENGTH = 12
DEM_KEY_LENGTH = 10
ISCE_FINGERPRINT_PATTERN = f"[0-9a-f]{{{ISCE_FINGERPRINT_LENGTH}}}"
DEM_KEY_PREFIX = "glo30_"  # Copernicus GLO-30
DEM_KEY_PATTERN = f"{DEM_KEY_PREFIX}[0-9a-f]{{{DEM_KEY_LENGTH}}}"
ISCE_STEP_PATTERN = "run_[0-9]+_[A-Za-z0-9_]+"  # a run file's name
ISCE_CHAIN_PATTERN = ISCE_STEP_PATTERN + "-[0-9]+"  # insarflow.isce.dependencies' chain ids
ISCE_GROUPING_PATTERN = "chains|long_chains"
ISCE_INDEX_PATTERN = "[0-9]+"  # a command's line in its run file (written 0001, 0002, ...)

# Output templates.
# One file per set of options (not one per pair: a rule with N outputs costs Snakemake O(N^2)
# to match its outputs): the submitted pairs and each one's job record.
HYP3_SUBMISSION = "results/hyp3/jobs/{options}.json"
HYP3_ROUNDS_DIR = "results/hyp3/watch/{options}"
ROUND_FILE_PREFIX = "round-"
HYP3_ROUND = HYP3_ROUNDS_DIR + "/" + ROUND_FILE_PREFIX + "{round}.json"
HYP3_PRODUCTS_DIR = "results/hyp3/products/{options}"
HYP3_PRODUCT = HYP3_PRODUCTS_DIR + "/{pair}"
HYP3_FINISHED = "results/hyp3/finished/{options}/{pair}.json"
# A verified, unpacked product on its way into place as the pair's product (same file
# system, so a rename).
HYP3_STAGED = ".insarflow/hyp3/staged/{options}/{pair}"
HYP3_STATUS = "results/hyp3/status.tsv"
VERIFIED_MANIFEST = "verified.json"

# Logs.
HYP3_SUBMIT_LOG = "logs/hyp3/submit/{options}.log"
HYP3_ROUND_LOG = "logs/hyp3/watch/{options}/round-{round}.log"
HYP3_PRODUCT_LOG = "logs/hyp3/product/{options}/{pair}.log"
HYP3_SUMMARY_LOG = "logs/hyp3/summary.log"
HYP3_STATUS_LOG = "logs/hyp3/status.log"
HYP3_PLAN_LOG = "logs/hyp3/plan.log"

# ISCE2 stacks (the layout is described in insarflow.isce.plan).
DEM = "resources/dem/{dem_key}/dem.wgs84"  # shared by stacks
DEM_XML = DEM + ".xml"
DEM_VRT = DEM + ".vrt"
ISCE_STACK = "results/isce/{fingerprint}"
ISCE_ORBITS = ISCE_STACK + "/orbits.tsv"
ISCE_AUX_CAL = ISCE_STACK + "/aux_cal.txt"
ISCE_REQUEST = ISCE_STACK + "/request.json"
ISCE_SAFE_LIST = ISCE_STACK + "/safe_list.txt"
ISCE_PLAN = ISCE_STACK + "/plan.json"
ISCE_WORK_DIR = ISCE_STACK + "/stack"
ISCE_COMMAND_DONE = ISCE_STACK + "/steps/{step}/{index}.done"
ISCE_STEP_DONE = ISCE_STACK + "/steps/{step}.done"
ISCE_CHAIN_DONE = ISCE_STACK + "/chains/{grouping}/{chain}.done"
ISCE_STACK_COMPLETE = ISCE_STACK + "/complete.txt"
ISCE_COMPLETE = "results/isce/complete.txt"  # the current stack's, under a fixed name

DEM_LOG = "logs/isce/dem_{dem_key}.log"
ISCE_LOGS = "logs/isce/{fingerprint}"
ISCE_INPUTS_LOG = ISCE_LOGS + "/inputs.log"
ISCE_RUN_FILES_LOG = ISCE_LOGS + "/run_files.log"
ISCE_COMMAND_LOG = ISCE_LOGS + "/{step}/{index}.log"
ISCE_CHAIN_LOG = ISCE_LOGS + "/chains/{grouping}/{chain}.log"
ISCE_STACK_COMPLETE_LOG = ISCE_LOGS + "/complete.log"
ISCE_COMPLETE_LOG = "logs/isce/complete.log"

# Time series (MintPy on the HyP3 products).
TIMESERIES = "results/timeseries"
TIMESERIES_CLIPPED = TIMESERIES + "/clipped"  # the products' layers cut to their overlap
MINTPY_DIR = TIMESERIES + "/mintpy"  # MintPy's work dir (template, inputs/, pic/, step logs)
MINTPY_TEMPLATE = MINTPY_DIR + "/insarflow.txt"  # the template written from the config
MINTPY_STEPS = TIMESERIES + "/mintpy_steps.json"  # each MintPy step: outcome, seconds, log
TIMESERIES_H5 = TIMESERIES + "/timeseries.h5"  # MintPy's last corrected series, a stable name
VELOCITY_H5 = TIMESERIES + "/velocity.h5"
VELOCITY_TIF = TIMESERIES + "/velocity.tif"
VELOCITY_STD_TIF = TIMESERIES + "/velocity_std.tif"
TEMPORAL_COHERENCE_TIF = TIMESERIES + "/temporal_coherence.tif"
VELOCITY_PNG = TIMESERIES + "/velocity.png"
DISPLACEMENT_PNG = TIMESERIES + "/displacement.png"
VELOCITY_KMZ = TIMESERIES + "/velocity.kmz"
TIMESERIES_LOG = "logs/timeseries/{step}.log"  # clip, mintpy, kmz, export

# Report items (figures and tables that `snakemake --report` collects).
REPORT = "results/report"
REPORT_HYP3_NETWORK = REPORT + "/hyp3/network.png"
REPORT_HYP3_BASELINES = REPORT + "/hyp3/temporal_baselines.png"
REPORT_PLANNED_NETWORK = REPORT + "/planned/network.png"
REPORT_PLANNED_BASELINES = REPORT + "/planned/temporal_baselines.png"
REPORT_HYP3_TIMELINE = REPORT + "/hyp3/job_timeline.png"
REPORT_HYP3_CREDITS = REPORT + "/hyp3/credits_and_expiry.html"
REPORT_QUICKLOOK_PAGE = REPORT + "/hyp3/quicklooks/{layer}/page-{page}.png"
REPORT_QUICKLOOK_PAGE_PATTERN = "[0-9]{3}"
REPORT_ISCE_NETWORK = REPORT + "/isce/network.png"
REPORT_ISCE_BASELINES = REPORT + "/isce/temporal_baselines.png"
REPORT_ISCE_GANTT = REPORT + "/isce/commands_gantt.png"
REPORT_ISCE_STEP_TIMES = REPORT + "/isce/step_wall_times.png"
REPORT_VELOCITY = REPORT + "/displacement/velocity.png"
REPORT_VELOCITY_STD = REPORT + "/displacement/velocity_std.png"
REPORT_POINT_TIME_SERIES = REPORT + "/displacement/point_time_series.png"
REPORT_COHERENCE_MATRIX = REPORT + "/displacement/coherence_matrix.png"
REPORT_LOG = "logs/report/{item}.log"
REPORT_QUICKLOOK_LOG = "logs/report/quicklooks/{layer}/page-{page}.log"


@dataclass(frozen=True)
class Hyp3State:
    """The private HyP3 state directory (default ``.insarflow/hyp3``).

    ``ledger``     the truth: every paid job (never delete it).
    ``poll_dir``   a cache: each account's status board, ``<account>.jsonl``, one line per poll
                   with the jobs it changed (safe to delete; see insarflow.hyp3.board).
    ``downloads``  a cache: partial and kept zips, ``<job id>_<file>`` (safe to delete).
    ``staged``     products in transit: verified and unpacked, then renamed into ``results/``
                   (safe to delete: refetched).
    """

    root: Path = Path(".insarflow/hyp3")

    @property
    def ledger(self) -> Path:
        return self.root / "ledger.jsonl"

    @property
    def poll_dir(self) -> Path:
        return self.root / "poll"

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"


def download_path(downloads: Path, job_id: str, filename: str) -> Path:
    """Where a job's product file is downloaded: one flat directory (a directory per job
    would be made and removed per product, a costly pair on a busy file system)."""
    return Path(downloads) / f"{job_id}_{filename}"


def round_file(options: str, index: int) -> str:
    return HYP3_ROUND.format(options=options, round=index)


def _command_index(index: int) -> str:
    return f"{index:04d}"  # sorts in run-file order


def dem_file(digest: str) -> str:
    """The stitched DEM of a stack's footprint (``digest`` from insarflow.isce.dem.dem_key)."""
    return DEM.format(dem_key=DEM_KEY_PREFIX + digest)


def isce_stack(fingerprint: str) -> str:
    return ISCE_STACK.format(fingerprint=fingerprint)


def isce_command_done(fingerprint: str, step: str, index: int) -> str:
    return ISCE_COMMAND_DONE.format(fingerprint=fingerprint, step=step, index=_command_index(index))


def isce_command_log(fingerprint: str, step: str, index: int) -> str:
    return ISCE_COMMAND_LOG.format(fingerprint=fingerprint, step=step, index=_command_index(index))


def isce_step_done(fingerprint: str, step: str) -> str:
    return ISCE_STEP_DONE.format(fingerprint=fingerprint, step=step)


def isce_chain_done(fingerprint: str, grouping: str, chain: str) -> str:
    return ISCE_CHAIN_DONE.format(fingerprint=fingerprint, grouping=grouping, chain=chain)


HYP3_STATE = Hyp3State()
