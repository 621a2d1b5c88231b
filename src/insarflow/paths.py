"""Where the workflow writes: every HyP3 output-path template and wildcard pattern, once.

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
DEM_KEY_PATTERN = f"glo30_[0-9a-f]{{{DEM_KEY_LENGTH}}}"

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
# Verified, unpacked products the polling round staged; each is moved into place as the
# pair's product (same file system, so a rename).
HYP3_STAGED = ".insarflow/hyp3/staged/{options}/{pair}"
STAGED_RECORD = "finished.json"
HYP3_STATUS = "results/hyp3/status.tsv"
VERIFIED_MANIFEST = "verified.json"

# Logs.
HYP3_SUBMIT_LOG = "logs/hyp3/submit/{options}.log"
HYP3_ROUND_LOG = "logs/hyp3/watch/{options}/round-{round}.log"
HYP3_PRODUCT_LOG = "logs/hyp3/product/{options}/{pair}.log"
HYP3_RESTAGE_LOG = "logs/hyp3/restage/{options}/{pair}.log"
HYP3_SUMMARY_LOG = "logs/hyp3/summary.log"
HYP3_STATUS_LOG = "logs/hyp3/status.log"
HYP3_PLAN_LOG = "logs/hyp3/plan.log"


@dataclass(frozen=True)
class Hyp3State:
    """The private HyP3 state directory (default ``.insarflow/hyp3``).

    ``ledger``     the truth: every paid job (never delete it).
    ``poll_dir``   a cache: the last job listing per account (safe to delete).
    ``downloads``  a cache: partial and verified zips per job id (safe to delete).
    ``staged``     products in transit: verified and unpacked by a polling round, moved into
                   ``results/`` by the pair's product job (safe to delete: refetched).
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


def round_file(options: str, index: int) -> str:
    return HYP3_ROUND.format(options=options, round=index)


HYP3_STATE = Hyp3State()
