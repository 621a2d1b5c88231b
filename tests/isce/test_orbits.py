"""Orbits with sentineleof (offline when covered), credentials kept out of logs, AUX_CAL note."""

from __future__ import annotations

import shutil
import socket
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from insarflow.isce import orbits
from insarflow.isce.safe import SafeProduct
from insarflow.steps import run_step
from tests.isce_standin.fixtures import StackProject

SECRET = "s3cret-Pa55word"


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Block (and record) every name lookup and non-loopback connection of this process."""
    attempts: list[str] = []
    real_connect = socket.socket.connect

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in (
            "127.0.0.1",
            "::1",
        ):
            attempts.append(f"connect {address}")
            raise ConnectionRefusedError("network blocked in tests")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        attempts.append(f"resolve {host}")
        raise ConnectionRefusedError("network blocked in tests")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("NETRC", str(home / "no-netrc"))
    for name in ("CDSE_ACCESS_TOKEN", "CDSE_USERNAME", "CDSE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(orbits, "DOWNLOAD_ATTEMPTS", 1)
    return attempts


def product(start: str, stop: str, mission: str = "S1A") -> SafeProduct:
    return SafeProduct(
        path=Path(f"{mission}_IW_SLC__1SDV_{start}_{stop}_030600_0AE008_5061.zip"),
        mission=mission,
        start=datetime.strptime(start, "%Y%m%dT%H%M%S"),
        stop=datetime.strptime(stop, "%Y%m%dT%H%M%S"),
    )


def test_an_orbit_covers_a_scene_by_stacksentinels_rule():
    eof = "S1A_OPER_AUX_POEORB_OPOD_20200121T120654_V20191231T225942_20200102T005942.EOF"
    inside = product("20200101T123456", "20200101T123523")
    assert orbits.covering_orbit(inside, [eof]) == eof
    # 60 s margins at both ends of the validity window
    assert orbits.covering_orbit(product("20191231T230041", "20191231T230110"), [eof]) is None
    assert orbits.covering_orbit(product("20200102T005800", "20200102T005843"), [eof]) is None
    assert (
        orbits.covering_orbit(product("20200101T123456", "20200101T123523", "S1C"), [eof]) is None
    )


def test_covered_slcs_need_no_download_and_no_network(
    project: StackProject, tmp_path: Path, network_attempts: list[str]
):
    safes = [str(path) for path in sorted(project.slc_dir.iterdir())]
    manifest = tmp_path / "orbits.tsv"
    chosen = orbits.ensure_orbits(safes, project.orbit_dir, manifest)
    assert set(chosen) == {Path(safe).name for safe in safes}
    assert {line.split("\t")[1] for line in manifest.read_text().splitlines()} == {
        path.name for path in project.orbit_files
    }
    assert network_attempts == []


def test_missing_orbit_fails_clearly_without_reaching_out_or_leaking_credentials(
    project: StackProject,
    tmp_path: Path,
    network_attempts: list[str],
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("CDSE_USERNAME", "someone@example.org")
    monkeypatch.setenv("CDSE_PASSWORD", SECRET)
    empty_orbits = tmp_path / "orbits"
    safes = [str(path) for path in sorted(project.slc_dir.iterdir())][:1]
    log = tmp_path / "inputs.log"
    with pytest.raises(SystemExit) as caught:
        run_step(str(log), orbits.ensure_orbits, safes, empty_orbits, tmp_path / "o.tsv")
    assert caught.value.code == 1  # a one-line failure, not a traceback
    assert network_attempts, "sentineleof was not asked for the missing orbit"
    text = log.read_text()
    assert "0 of 1 SLCs already have an orbit" in text
    assert "orbit download failed after 1 attempt(s)" in text and "Traceback" not in text
    assert SECRET not in text
    assert not (tmp_path / "o.tsv").exists()


def test_aux_cal_dir_is_created_and_old_ipf_products_get_a_note(
    project: StackProject, tmp_path: Path
):
    source = sorted(project.slc_dir.iterdir())[0]
    old = tmp_path / "slc" / source.name
    old.parent.mkdir()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(old, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename.endswith("manifest.safe"):
                data = data.replace(b'version="003.71"', b'version="002.36"')
            zout.writestr(item, data)
    new = tmp_path / "slc" / sorted(project.slc_dir.iterdir())[1].name
    shutil.copy2(sorted(project.slc_dir.iterdir())[1], new)

    aux = tmp_path / "aux"
    needing = orbits.check_aux_cal([str(old), str(new)], aux, tmp_path / "aux_cal.txt")
    assert aux.is_dir()
    assert needing == [f"{old.name} (IPF 002.36)"]
    note = (tmp_path / "aux_cal.txt").read_text()
    assert "NOTE: 1 SLC(s) from IPF 002.36 need an S1x_AUX_CAL file" in note and old.name in note

    (aux / "S1A_AUX_CAL_V20140908T000000_G20190626T100201.SAFE").mkdir()
    assert orbits.check_aux_cal([str(old)], aux, tmp_path / "aux_cal.txt") == []
