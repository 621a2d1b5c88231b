"""Unit tests of the HyP3 path's building blocks (no server needed)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from insarflow.config import load_schema
from insarflow.errors import UserError
from insarflow.hyp3.credentials import SANDBOX_DEMO_ACCOUNT, load_accounts
from insarflow.hyp3.jobs import build_job, job_cost
from insarflow.hyp3.ledger import Ledger, LedgerView
from insarflow.pairs import make_pair

from .conftest import SCENES

SPEC = Path(__file__).resolve().parents[2] / "src" / "insarflow" / "sandbox" / "spec"


def defaults(**overrides):
    hyp3 = load_schema()["properties"]["hyp3"]["properties"]
    return {**{key: spec["default"] for key, spec in hyp3.items()}, **overrides}


def test_job_key_is_stable_and_order_free_but_option_sensitive() -> None:
    forward = build_job(make_pair(SCENES[0], SCENES[1]), defaults())
    backward = build_job(make_pair(SCENES[1], SCENES[0]), defaults())
    other = build_job(make_pair(SCENES[0], SCENES[1]), defaults(looks="10x2"))
    assert forward.key == backward.key and forward.name == backward.name
    assert other.key != forward.key
    assert forward.name.startswith("ifg_20200104T014512_20200116T014513_")
    assert len(forward.name) <= 100
    assert forward.granules == [SCENES[0], SCENES[1]]


def test_deprecated_los_displacement_maps_to_displacement_maps() -> None:
    job = build_job(
        make_pair(SCENES[0], SCENES[1]),
        defaults(include_los_displacement=True, include_displacement_maps=False),
    )
    params = job.prepared["job_parameters"]
    assert params["include_displacement_maps"] is True
    assert params["include_los_displacement"] is False


def test_costs_follow_the_production_cost_table() -> None:
    costs = json.loads((SPEC / "costs_EDC.json").read_text())
    pair = make_pair(SCENES[0], SCENES[1])
    assert job_cost(costs, build_job(pair, defaults(looks="20x4"))) == 10
    assert job_cost(costs, build_job(pair, defaults(looks="10x2"))) == 15
    burst = make_pair(
        "S1_136231_IW2_20200604T022312_VV_7C85-BURST", "S1_136231_IW2_20200616T022313_VV_5D11-BURST"
    )
    assert job_cost(costs, build_job(burst, defaults(job_type="INSAR_ISCE_BURST"))) == 1


def test_ledger_replay_finds_ambiguous_intents(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.append("intent", key="k1", pair="p1", name="n1", account="a", attempt=1)
    ledger.append("submitted", key="k1", pair="p1", attempt=1, job_id="j1")
    ledger.append("intent", key="k2", pair="p2", name="n2", account="a", attempt=1)
    with (tmp_path / "ledger.jsonl").open("a") as handle:
        handle.write('{"event": "submitted", "key": "k2", "pai')  # torn by a crash
    state = ledger.state()
    assert state["k1"].current_job.job_id == "j1" and not state["k1"].ambiguous
    assert state["k2"].current_job is None and [a.name for a in state["k2"].ambiguous] == ["n2"]
    ledger.append("unsent", key="k2", pair="p2", attempt=1, reason="not found by name")
    ledger.append("intent", key="k2", pair="p2", name="n2", account="a", attempt=2)
    ledger.append("submitted", key="k2", pair="p2", attempt=2, job_id="j2")
    assert ledger.state()["k2"].current_job.job_id == "j2"
    assert ledger.state()["k2"].resubmits == 0  # a retried POST is not a resubmission


def test_a_polling_round_sees_what_a_full_replay_sees(tmp_path: Path) -> None:
    """The round's incremental view of the ledger agrees with a full replay after every
    append, across a line torn by a crash and a ledger replaced by another file."""
    path = tmp_path / "ledger.jsonl"
    ledger = Ledger(path)
    view = LedgerView(ledger)

    def same() -> None:
        full, seen = ledger.state(), view.state()
        assert {k: (s.pair_id, s.attempts) for k, s in full.items()} == {
            k: (s.pair_id, s.attempts) for k, s in seen.items()
        }

    same()  # no ledger yet
    ledger.append("intent", key="k1", pair="p1", name="n1", account="a", attempt=1)
    same()
    ledger.append("submitted", key="k1", pair="p1", attempt=1, job_id="j1", credit_cost=15)
    ledger.append("intent", key="k2", pair="p2", name="n2", account="a", attempt=1)
    same()
    with path.open("a") as handle:
        handle.write('{"event": "submitted", "key": "k2", "pai')  # torn by a crash
    same()
    assert view.state()["k2"].ambiguous
    ledger.append("unsent", key="k2", pair="p2", attempt=1, reason="not found by name")
    ledger.append("intent", key="k2", pair="p2", name="n2", account="a", attempt=2)
    ledger.append("submitted", key="k2", pair="p2", attempt=2, job_id="j2", credit_cost=10)
    same()
    assert view.state()["k2"].current_job.job_id == "j2"
    assert view.credits_spent({"k1", "k2"}) == 25 and view.credits_spent({"k2"}) == 10
    replaced = tmp_path / "other.jsonl"
    Ledger(replaced).append("intent", key="k3", pair="p3", name="n3", account="a", attempt=1)
    os.replace(replaced, path)
    same()
    assert set(view.state()) == {"k3"} and view.credits_spent({"k1", "k2"}) == 0


def test_credentials_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "earthdata.yaml"
    path.write_text("accounts:\n  - {name: alice, token: t1}\n  - {username: bob, password: p2}\n")
    path.chmod(0o640)
    with pytest.raises(UserError, match=r"readable by others \(mode 640\); run `chmod 600"):
        load_accounts(str(path), sandbox=False, environ={})
    path.chmod(0o600)
    accounts = load_accounts(str(path), sandbox=False, environ={})
    assert [a.name for a in accounts] == ["alice", "bob"]
    assert "t1" not in repr(accounts) and "p2" not in repr(accounts)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_credentials_from_environment_and_errors(tmp_path: Path) -> None:
    assert (
        load_accounts(None, sandbox=False, environ={"EARTHDATA_TOKEN": "x"})[0].name
        == "EARTHDATA_TOKEN"
    )
    assert load_accounts(None, sandbox=True, environ={})[0].name == SANDBOX_DEMO_ACCOUNT
    with pytest.raises(UserError, match="no Earthdata account: set EARTHDATA_TOKEN"):
        load_accounts(None, sandbox=False, environ={})
    with pytest.raises(UserError, match="must be set together"):
        load_accounts(None, sandbox=False, environ={"EARTHDATA_USERNAME": "me"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("accounts:\n  - {name: a, tokn: x}\n")
    bad.chmod(0o600)
    with pytest.raises(UserError, match=r"unknown key\(s\) \['tokn'\]"):
        load_accounts(str(bad), sandbox=False, environ={})


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-11-30T18:22:07+00:00",
        "2026-11-30T18:22:07Z",
        "2026-11-30T18:22:07.123456+00:00",
        "2026-11-30T18:22:07",
        "Mon, 30 Nov 2026 18:22:07 GMT",
    ],
)
def test_hyp3_job_dates_read_as_dateutil_reads_them(stamp: str) -> None:
    # insarflow reads HyP3's ISO 8601 dates natively for speed; the SDK's jobs must not change.
    from dateutil.parser import parse
    from hyp3_sdk import Job

    import insarflow.hyp3.client  # noqa: F401  (installs the fast date reader)

    job = Job.from_dict(
        {
            "job_type": "INSAR_GAMMA",
            "job_id": "j",
            "request_time": stamp,
            "expiration_time": stamp,
            "status_code": "SUCCEEDED",
            "user_id": "u",
        }
    )
    assert job.request_time == parse(stamp)
    assert job.to_dict()["expiration_time"] == parse(stamp).isoformat(timespec="seconds")


def test_api_responses_decode_once_and_as_requests_decodes_them() -> None:
    # Listings are decoded with orjson; what the SDK reads, and the errors, must not change.
    import requests

    from insarflow.hyp3.client import connect
    from insarflow.hyp3.credentials import Account

    session = connect("http://127.0.0.1:9", Account(name="a", token="t"), 5).session
    body = b'{"jobs": [{"phase_filter_parameter": 0.6, "size": 12345678901, "name": "\\u00e9"}]}'

    def response(content: bytes) -> requests.Response:
        answer = requests.Response()
        answer.status_code, answer._content, answer.encoding = 200, content, "utf-8"
        for hook in session.hooks["response"]:
            hook(answer)
        return answer

    listed = response(body)
    assert listed.json() == json.loads(body)
    assert listed.json() is listed.json()  # parsed once, however often the SDK asks
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response(b"<html>502 Bad Gateway</html>").json()
