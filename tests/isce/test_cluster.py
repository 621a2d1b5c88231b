"""Steps too large for every node of the SLURM partition are refused before submission."""

from __future__ import annotations

from pathlib import Path

import pytest

from insarflow.errors import UserError
from insarflow.isce.cluster import check_fits

SINFO = "#!/bin/sh\nprintf 'debug*|2|24105\\nbig|64+|512000\\nbig|32|256000\\n'\n"


@pytest.fixture
def sinfo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sinfo").write_text(SINFO)
    (tmp_path / "sinfo").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))


def test_a_step_larger_than_every_node_is_one_line_naming_step_request_and_nodes(sinfo):
    settings = {"step_resources": {"unpack_topo_reference": {"threads": 4, "mem_mb": 16000}}}
    with pytest.raises(UserError) as error:
        check_fits(settings, None)  # the default partition, marked * by sinfo
    assert str(error.value) == (
        "isce.step_resources.unpack_topo_reference asks 4 threads and 16000 MB, but the largest "
        "node of SLURM partition 'debug' has 2 CPUs and 24105 MB: the job could never start; "
        "lower it in your config"
    )
    assert check_fits(settings, "big") == "big"
    with pytest.raises(UserError, match=r"^isce.step_resources.default \(every step not listed\)"):
        check_fits({"step_resources": {"default": {"mem_mb": 600000}}}, "big")


def test_without_sinfo_nothing_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert check_fits({"step_resources": {"default": {"threads": 999}}}, None) is None
