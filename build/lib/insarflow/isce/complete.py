"""``results/isce/complete.txt``: written when every step of the current stack is done.

Tab-separated lines: the fingerprint, the topsStack work dir, the reference date, the dates,
the steps, and one ``pair`` line per requested pair that the stack produced. Run as
``$INSARFLOW_JOB_PYTHON -m insarflow.isce.complete --plan P --output O [--pairs "A_B C_D ..."]``.
"""

from __future__ import annotations

import argparse
import os
import sys

from insarflow.isce.plan import load_plan


def write_complete(plan_file: str, output: str, pair_ids: list[str]) -> list[str]:
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
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--pairs", default="", help="space-separated pair ids YYYYMMDD_YYYYMMDD")
    args = parser.parse_args(argv)
    print("\n".join(write_complete(args.plan, args.output, args.pairs.split())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
