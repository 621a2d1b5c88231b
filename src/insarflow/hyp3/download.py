"""Download, verify and unpack HyP3 products.

A product is fetched to ``<cache>/<job_id>_<file>.part`` with HTTP Range resume, checked
against the size HyP3 reports and the CRC of every zip member, and renamed into place
atomically (``download_product``); then it is unpacked into the caller's directory for the
product (``unpack_product``). The zip is then deleted (real products are hundreds of MB;
keeping both doubles the disk used) unless ``keep_zips`` is on; a kept, verified zip is reused
when ``skip_existing`` is on. A ``.part`` file of an interrupted download stays, so the next
attempt resumes it.
"""

from __future__ import annotations

import logging
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
import urllib3
from tenacity import (
    before_sleep_log,
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from insarflow.errors import ServiceError
from insarflow.paths import HYP3_STATE, download_path

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
DOWNLOAD_ATTEMPTS = 10


class DownloadError(ServiceError):
    """The product could not be fetched or failed verification."""


class _Incomplete(Exception):
    """A transfer ended early or the server failed; resuming can fix it."""


def verify_zip(path: Path, expected_size: int | None, folder: str | None = None) -> str | None:
    """None if the zip is whole and sound, else what is wrong with it.

    ``folder`` is the single top folder a HyP3 zip holds (default: the zip's stem).
    """
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        return f"size {size} bytes, HyP3 reports {expected_size}"
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                return f"CRC mismatch in {bad}"
            stem = folder or path.stem
            outside = [name for name in archive.namelist() if not name.startswith(f"{stem}/")]
            if outside:
                return f"member {outside[0]} lies outside the product folder {stem}/"
    except zipfile.BadZipFile as error:
        return f"not a valid zip ({error})"
    return None


def _fetch_once(
    session: requests.Session, url: str, part: Path, expected_size: int | None, timeout: float
) -> None:
    have = part.stat().st_size if part.exists() else 0
    if expected_size is not None and have > expected_size:
        part.unlink()
        have = 0
    if expected_size is not None and have == expected_size:
        return
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with session.get(url, headers=headers, stream=True, timeout=timeout) as response:
            if response.status_code in (429, 500, 502, 503, 504):
                raise _Incomplete(f"HTTP {response.status_code}")
            if response.status_code == 404:
                raise DownloadError(f"{url} answered 404: the product is gone (expired or removed)")
            response.raise_for_status()
            mode = "ab" if response.status_code == 206 else "wb"
            # Not fsynced: a killed process loses nothing the OS was handed, and bytes a
            # machine crash tears are caught by the size and CRC checks.
            with part.open(mode) as handle:
                # read1 hands over whatever has arrived, so a transfer cut short still
                # leaves every received byte on disk for the next Range request.
                while block := response.raw.read1(CHUNK_BYTES):
                    handle.write(block)
    except (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
        urllib3.exceptions.HTTPError,
    ) as error:
        raise _Incomplete(
            f"{error.__class__.__name__} after {part.stat().st_size if part.exists() else 0} bytes"
        ) from None
    got = part.stat().st_size
    if expected_size is not None and got < expected_size:
        raise _Incomplete(f"transfer ended at {got} of {expected_size} bytes")


def download_file(
    url: str,
    destination: Path,
    expected_size: int | None,
    timeout: float = 60.0,
    session: requests.Session | None = None,
    folder: str | None = None,
) -> Path:
    """Fetch ``url`` to ``destination`` with resume, verification and an atomic rename.

    The one retry layer for a product file: an interrupted transfer resumes (HTTP Range), and
    bytes that fail verification are discarded and fetched again, within one budget of
    ``DOWNLOAD_ATTEMPTS`` tries with exponential backoff. ``session``: a session to reuse
    (its kept-alive connection saves a TCP connect per file); by default a new one.
    ``folder``: the one top folder of the zip (default: the destination's stem).
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + ".part")
    session = session or requests.Session()

    def fetch_and_verify() -> None:
        _fetch_once(session, url, part, expected_size, timeout)
        problem = verify_zip(part, expected_size, folder=folder or Path(destination.name).stem)
        if problem is not None:
            part.unlink(missing_ok=True)
            raise _Incomplete(f"failed verification ({problem}); starting over")

    try:
        retry(
            retry=retry_if_exception_type(_Incomplete),
            wait=wait_random_exponential(multiplier=0.5, max=30),
            stop=stop_after_attempt(DOWNLOAD_ATTEMPTS),
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        )(fetch_and_verify)()
    except _Incomplete as error:
        raise DownloadError(f"{url}: {error} after {DOWNLOAD_ATTEMPTS} attempts") from None
    os.replace(part, destination)
    return destination


def download_product(
    job: Mapping[str, Any],
    *,
    cache_dir: Path = HYP3_STATE.downloads,
    skip_existing: bool = True,
    timeout: float = 60.0,
    session: requests.Session | None = None,
) -> list[tuple[Path, dict[str, Any]]]:
    """Download and verify every file of a SUCCEEDED job into ``cache_dir`` (as
    ``<job id>_<file>``): each zip's path with the file's entry of the job."""
    files = job.get("files") or []
    if not files:
        raise DownloadError(f"job {job['job_id']} lists no product files")
    zips = []
    for item in files:
        name = item["filename"]
        zip_path = download_path(cache_dir, job["job_id"], name)
        folder = Path(name).stem
        if skip_existing and verify_zip(zip_path, item.get("size"), folder) is None:
            log.info("%s already downloaded and verified; not fetching it again", name)
        else:
            zip_path.unlink(missing_ok=True)
            log.info("downloading %s (%s bytes)", name, item.get("size"))
            download_file(item["url"], zip_path, item.get("size"), timeout, session, folder)
        zips.append((zip_path, dict(item)))
    return zips


def unpack_product(
    zips: list[tuple[Path, dict[str, Any]]], product_dir: Path, *, keep_zips: bool = False
) -> list[dict[str, Any]]:
    """Unpack verified zips into ``product_dir``; the zips are deleted unless ``keep_zips``.

    ``product_dir`` is the caller's own directory, renamed into place once whole, so it is
    unpacked into directly: a directory per product less to make and remove, which on a busy
    file system is a good part of a small product's time.
    """
    unpacked = []
    for zip_path, item in zips:
        unpacked.append(_unpack(zip_path, Path(product_dir), item))
        if not keep_zips:
            zip_path.unlink()
    return unpacked


def _unpack(zip_path: Path, product_dir: Path, item: dict[str, Any]) -> dict[str, Any]:
    # verify_zip has checked that every member lies inside the one folder <file stem>/.
    folder = Path(item["filename"]).stem
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(product_dir)
        names = archive.namelist()
    members = sorted({name[len(folder) + 1 :].split("/")[0] for name in names} - {""})
    return {
        "filename": item["filename"],
        "size": item.get("size"),
        "folder": folder,
        "members": members,
    }
