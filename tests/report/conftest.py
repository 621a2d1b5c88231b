"""Fixtures for report tests: the HyP3 sandbox and work dir (tests/hyp3), an ISCE stand-in project."""

from __future__ import annotations

import pytest

from tests.hyp3.conftest import sandbox, workdir  # noqa: F401  (fixtures)
from tests.isce_standin.fixtures import StackProject, make_stack_project, repeat_dates


@pytest.fixture(scope="session")
def isce_project(tmp_path_factory: pytest.TempPathFactory) -> StackProject:
    return make_stack_project(
        tmp_path_factory.mktemp("isce-project"), repeat_dates(3), bursts_per_swath=2
    )
