"""Checks of the `timeseries` section that the schema alone cannot express."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from insarflow.errors import UserError


def check_timeseries_config(config: Mapping[str, Any]) -> None:
    """UserError (one line) for settings that cannot work together; call after validation."""
    settings = config.get("timeseries") or {}
    if not settings.get("enabled"):
        return
    if config.get("processor") not in ("hyp3", "both"):
        return  # the stage works on HyP3 products; an ISCE-only run does not include it
    if (config.get("hyp3") or {}).get("include_dem") is False:
        # Checked before any job is paid for: MintPy cannot load a stack without a DEM.
        raise UserError(
            "timeseries.enabled needs the DEM in every product, but hyp3.include_dem = False; "
            "allowed with the time series: true"
        )
    method = settings.get("unwrap_error_correction")
    job_type = (config.get("hyp3") or {}).get("job_type", "INSAR_GAMMA")
    if method not in (None, False, "no") and job_type == "INSAR_GAMMA":
        # MintPy 1.6.4 corrects both ways per connected component (its connectComponent
        # dataset); GAMMA products have no conncomp layer (hyp3#1174, #832).
        raise UserError(
            f"timeseries.unwrap_error_correction = {method!r} needs connected components, which "
            "INSAR_GAMMA products do not have (INSAR_ISCE_BURST products do); "
            "allowed with INSAR_GAMMA: 'no'"
        )
    lalo = settings.get("reference_lalo")
    if lalo:
        lat, lon = lalo
        if not (-90 <= lat <= 90 and -180 <= lon <= 360):
            raise UserError(
                f"timeseries.reference_lalo = {list(lalo)} is not [latitude, longitude]; "
                "allowed: latitude -90..90, longitude -180..360"
            )
