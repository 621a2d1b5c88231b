"""What stackSentinel.py needs besides the SLCs and the DEM (rule ``isce_inputs``): covering
orbit files, the AUX_CAL directory and its note, and the request that fixes the run files.

One job for the three, so a stack costs one job start instead of three.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from insarflow.files import write_json_atomic
from insarflow.isce.orbits import check_aux_cal, ensure_orbits
from insarflow.steps import console

log = logging.getLogger(__name__)


def prepare_stack_inputs(
    safes: Sequence[str],
    orbit_dir: str | Path,
    aux_dir: str | Path,
    orbits_manifest: str | Path,
    aux_cal_note: str | Path,
    request_file: str | Path,
    request: Mapping[str, Any],
) -> None:
    ensure_orbits(safes, orbit_dir, orbits_manifest)
    if check_aux_cal(safes, aux_dir, aux_cal_note):
        # worth seeing on the console, not only in the log
        console().info("insarflow: AUX_CAL (%s):\n%s", aux_cal_note, Path(aux_cal_note).read_text())
    write_json_atomic(request_file, dict(request))
    log.info("stackSentinel request: %s", request_file)
