"""Drive InSARHub 0.4.2's Hyp3_S1 processor against the HyP3 sandbox (issue 16's comparison).

Run by the Python of a separate InSARHub virtualenv (InSARHub needs numpy<2, MintPy and the
GDAL bindings; it is never installed into insarflow's venv), as a subprocess of
benchmarks/hyp3_workflow.py, which measures it. Usage:

    INSARHUB_SANDBOX_TOKEN=... HOME=<dir with a .netrc for urs.earthdata.nasa.gov> \
        <insarhub venv>/bin/python benchmarks/insarhub_driver.py settings.json

settings.json: {"api_url", "workdir", "pairs": [[reference, secondary], ...], "max_workers",
"submission_chunk_size", "refresh_interval", "job_options": {...}}.

InSARHub logs in from its constructor with ``HyP3()`` (netrc) or ``HyP3(username=...,
password=...)``, against the production URL and Earthdata, both out of reach here. Its modules
import the name ``HyP3`` from hyp3_sdk, so that one name is replaced with a factory returning the
real ``hyp3_sdk.HyP3`` pointed at the sandbox with a token, whatever arguments it gets. Nothing
else of InSARHub is changed: its own ``submit()`` and ``watch()`` do the work.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import hyp3_sdk
import insarhub.processor.hyp3_base as hyp3_base
from insarhub import Processor


def main() -> None:
    settings = json.loads(Path(sys.argv[1]).read_text())
    api_url = settings["api_url"]
    token = os.environ["INSARHUB_SANDBOX_TOKEN"]

    def sandbox_client(*_args: Any, **_kwargs: Any) -> hyp3_sdk.HyP3:
        return hyp3_sdk.HyP3(api_url=api_url, token=token)

    hyp3_base.HyP3 = sandbox_client

    processor = Processor.create(
        "Hyp3_S1",
        workdir=settings["workdir"],
        pairs=[tuple(pair) for pair in settings["pairs"]],
        max_workers=settings["max_workers"],
        submission_chunk_size=settings["submission_chunk_size"],
        **settings["job_options"],
    )
    started = time.monotonic()
    processor.submit()
    submitted = time.monotonic()
    processor.watch(refresh_interval=settings["refresh_interval"])
    print(
        f"insarhub_driver: submit {submitted - started:.1f} s, "
        f"watch {time.monotonic() - submitted:.1f} s, output {processor.output_dir}",
        flush=True,
    )


if __name__ == "__main__":
    main()
