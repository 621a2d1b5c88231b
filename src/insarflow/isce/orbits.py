"""Orbit files (EOF) for every SAFE of a stack, with sentineleof; AUX_CAL directory and note.

An EOF counts as covering a SAFE by stackSentinel's own rule (``Stack.sentinelSLC.get_orbit``):
same platform, validity start + 60 s <= SAFE start and SAFE stop < validity stop - 60 s. SAFEs
already covered by an EOF in the orbit directory are skipped without any network call. For the
rest, sentineleof's ``download_eofs`` asks Copernicus Data Space (CDSE) first when credentials
exist, else ASF's public bucket, for precise orbits with restituted ones as fallback. If a SAFE
is still uncovered the job fails: stackSentinel would otherwise call ``fetchOrbit.py`` itself,
from wherever it runs.

CDSE credentials come from the environment (``CDSE_ACCESS_TOKEN``, or ``CDSE_USERNAME`` and
``CDSE_PASSWORD``) or from the netrc file (``$NETRC`` or ``~/.netrc``, machine
``dataspace.copernicus.eu``), which sentineleof reads itself. They are passed in memory only and
never logged.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from insarflow.errors import ServiceError, UserError
from insarflow.isce.safe import SafeProduct, ipf_version, parse_safe_path

log = logging.getLogger(__name__)

MARGIN = timedelta(seconds=60)
REQUEST_TIMEOUT_S = 60
DOWNLOAD_ATTEMPTS = 3  # the whole sentineleof call, with exponential backoff between attempts
# IPF versions whose products need an AUX_CAL file for the elevation antenna pattern.
IPF_NEEDING_AUX_CAL = ("002.36",)
AUX_CAL_SOURCE = "https://sar-mpc.eu/ (S1A_AUX_CAL_*.SAFE; topsStack README)"


def _eof_window(name: str) -> tuple[str, datetime, datetime] | None:
    fields = name.split("_")
    if len(fields) < 8 or not name.endswith(".EOF"):
        return None
    try:
        start = datetime.strptime(fields[6].lstrip("V"), "%Y%m%dT%H%M%S")
        stop = datetime.strptime(fields[7].removesuffix(".EOF"), "%Y%m%dT%H%M%S")
    except ValueError:
        return None
    return fields[0], start, stop


def covering_orbit(product: SafeProduct, eof_names: Iterable[str]) -> str | None:
    """The first EOF name that covers ``product`` as stackSentinel decides it, if any."""
    for name in sorted(eof_names):
        window = _eof_window(name)
        if window is None:
            continue
        mission, start, stop = window
        if (
            mission == product.mission
            and product.start >= start + MARGIN
            and product.stop < stop - MARGIN
        ):
            return name
    return None


def orbit_names(orbit_dir: str | Path) -> list[str]:
    """EOF names stackSentinel sees: ``<dir>/S1*.EOF``, else ``<dir>/*/S1*.EOF``."""
    directory = Path(orbit_dir)
    names = [path.name for path in directory.glob("S1*.EOF")]
    return names or [path.name for path in directory.glob("*/S1*.EOF")]


def cdse_credentials() -> dict[str, str]:
    """CDSE credentials from the environment, as download_eofs keyword arguments."""
    token = os.environ.get("CDSE_ACCESS_TOKEN", "")
    if token:
        return {"cdse_access_token": token}
    user, password = os.environ.get("CDSE_USERNAME", ""), os.environ.get("CDSE_PASSWORD", "")
    if user and password:
        return {"cdse_user": user, "cdse_password": password}
    return {}


def _download(products: Sequence[SafeProduct], orbit_dir: Path) -> None:
    from eof.download import download_eofs
    from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

    @retry(
        stop=stop_after_attempt(DOWNLOAD_ATTEMPTS),
        wait=wait_exponential(multiplier=5, max=60),
        retry=retry_if_exception_type((OSError, ConnectionError)),
        reraise=True,
    )
    def attempt() -> None:
        download_eofs(
            orbit_dts=[product.start for product in products],
            missions=[product.mission for product in products],
            save_dir=str(orbit_dir),
            orbit_type="precise",  # restituted where no precise orbit exists yet
            netrc_file=os.environ.get("NETRC") or None,
            max_workers=4,
            **cdse_credentials(),
        )

    # sentineleof's requests calls set no timeout: bound every socket operation instead.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(REQUEST_TIMEOUT_S)
    try:
        attempt()
    finally:
        socket.setdefaulttimeout(previous)


def ensure_orbits(
    safes: Sequence[str], orbit_dir: str | Path, manifest: str | Path
) -> dict[str, str]:
    """Make sure every SAFE has a covering EOF in ``orbit_dir``; write ``SAFE<TAB>EOF`` lines."""
    orbit_dir = Path(orbit_dir)
    orbit_dir.mkdir(parents=True, exist_ok=True)
    products = [product for product in map(parse_safe_path, map(Path, safes)) if product]
    missing = [
        product for product in products if not covering_orbit(product, orbit_names(orbit_dir))
    ]
    log.info(
        "%d of %d SLCs already have an orbit in %s",
        len(products) - len(missing),
        len(products),
        orbit_dir,
    )
    if missing:
        log.info("downloading orbits for %d SLC(s) with sentineleof", len(missing))
        _log_sentineleof_to_this_step()
        try:
            _download(missing, orbit_dir)
        except OSError as error:  # requests' errors are OSErrors
            raise ServiceError(
                f"orbit download failed after {DOWNLOAD_ATTEMPTS} attempt(s): "
                f"{type(error).__name__}: {error}"
            ) from None
    chosen: dict[str, str] = {}
    still_missing = []
    for product in products:
        name = covering_orbit(product, orbit_names(orbit_dir))
        if name is None:
            still_missing.append(product.path.name)
        else:
            chosen[product.path.name] = name
    if still_missing:
        raise UserError(
            f"no precise or restituted orbit covers {', '.join(still_missing)}; put matching EOF "
            f"files into {orbit_dir} (CDSE credentials: CDSE_USERNAME/CDSE_PASSWORD or netrc)"
        )
    Path(manifest).parent.mkdir(parents=True, exist_ok=True)
    Path(manifest).write_text("".join(f"{safe}\t{eof}\n" for safe, eof in sorted(chosen.items())))
    return chosen


def check_aux_cal(safes: Sequence[str], aux_dir: str | Path, note: str | Path) -> list[str]:
    """Create the AUX_CAL directory and note the SLCs that need a calibration file it lacks."""
    aux_dir = Path(aux_dir)
    aux_dir.mkdir(parents=True, exist_ok=True)
    present = {path.name[:3] for path in aux_dir.glob("S1?_AUX_CAL*")}
    lines = [f"AUX_CAL directory: {aux_dir.absolute()}"]
    needing = []
    for safe in safes:
        product = parse_safe_path(Path(safe))
        version = ipf_version(Path(safe))
        if product and version in IPF_NEEDING_AUX_CAL and product.mission not in present:
            needing.append(f"{product.path.name} (IPF {version})")
    if needing:
        lines.append(
            f"NOTE: {len(needing)} SLC(s) from IPF {', '.join(IPF_NEEDING_AUX_CAL)} need an "
            f"S1x_AUX_CAL file in {aux_dir} for the elevation antenna pattern correction "
            f"(ISCE only warns without it). Get it from {AUX_CAL_SOURCE}:"
        )
        lines += [f"  {item}" for item in needing]
    else:
        lines.append("no SLC needs an AUX_CAL file")
    Path(note).parent.mkdir(parents=True, exist_ok=True)
    Path(note).write_text("\n".join(lines) + "\n")
    for line in lines:
        log.info("%s", line)
    return needing


def _log_sentineleof_to_this_step() -> None:
    # sentineleof's logger stands outside the logging tree: give it the step's handlers.
    from eof.log import logger

    logger.setLevel(logging.INFO)
    for handler in logging.getLogger().handlers:
        if handler not in logger.handlers:
            logger.addHandler(handler)
