"""``results/isce/complete.txt``: written when every step of the current stack is done.

Tab-separated lines: the fingerprint, the topsStack work dir, the reference date, the dates,
the steps, and one ``pair`` line per requested pair that the stack produced.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

from insarflow.isce.plan import load_plan


def write_complete(plan_file: str, output: str, pair_ids: Iterable[str]) -> list[str]:
    plan = load_plan(plan_file)
    requested = {tuple(pair_id.split("_")) for pair_id in pair_ids}
    produced = sorted(requested & plan.pairs())
    lines = [
        f"fingerprint\t{plan.fingerprint}",
        f"stack\t{plan.work_dir}",
        f"reference_date\t{plan.reference_date}",
        f"dates\t{' '.join(plan.dates)}",
        f"steps\t{' '.join(plan.step_names)}",
    ]
    lines += [f"pair\t{a}_{b}" for a, b in produced]
    temporary = f"{output}.tmp"
    with open(temporary, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(temporary, output)
    logging.getLogger(__name__).info("%s:\n%s", output, "\n".join(lines))
    return lines
