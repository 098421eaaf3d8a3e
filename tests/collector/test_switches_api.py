"""The kill switch API: validation, admin-only flips, the audit record, the scope in SQL, the long poll."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from tests.support import wait_until
from tracereel.collector.query import Scope, SwitchKey, current_switches, flip_switch

KEY = "s3cret"
AUTH = {"authorization": f"Bearer {KEY}"}


@pytest.fixture
def http(asgi_collector_factory: Any) -> Any:
    """A collector that wants the key; one shared key is an admin key."""
    return asgi_collector_factory(api_key=KEY).http


def _switches(http: Any, **params: Any) -> dict[str, Any]:
    response = http.get("/api/v1/switches", headers=AUTH, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_kill_list_and_revive(http, caplog):
    empty = _switches(http)
    assert empty["switches"] == []
    with caplog.at_level(logging.INFO, logger="tracereel.collector.audit"):
        killed = http.post(
            "/api/v1/switches",
            headers=AUTH,
            json={"agent": "refunds", "version": "2.0", "service": "shop", "reason": " double charges "},
        )
        assert killed.status_code == 201
        switch = killed.json()["switch"]
        assert {k: switch[k] for k in ("team", "agent", "version", "service", "state", "reason")} == {
            "team": "",
            "agent": "refunds",
            "version": "2.0",
            "service": "shop",
            "state": "killed",
            "reason": "double charges",
        }
        listed = _switches(http)
        assert listed["switches"] == [switch]
        assert listed["version"] != empty["version"]
        # Killing it again updates the reason (200: it was killed already).
        again = http.post(
            "/api/v1/switches",
            headers=AUTH,
            json={"agent": "refunds", "version": "2.0", "service": "shop", "reason": "still"},
        )
        assert again.status_code == 200 and again.json()["switch"]["reason"] == "still"
        revived = http.post(
            "/api/v1/switches/revive", headers=AUTH, json={"agent": "refunds", "version": "2.0", "service": "shop"}
        )
        assert revived.status_code == 200 and revived.json()["switch"]["state"] == "revived"
    assert _switches(http) == empty
    assert "admin action kill_agent on refunds@2.0 on shop by TRACEREEL_API_KEY (double charges)" in caplog.text
    assert "admin action revive_agent on refunds@2.0 on shop" in caplog.text


def test_reviving_what_is_not_killed_is_a_404_that_says_so(http):
    http.post("/api/v1/switches", headers=AUTH, json={"agent": "refunds", "version": "2.0", "reason": "r"})
    for body in ({"agent": "refunds"}, {"agent": "refunds", "version": "1.0"}, {"agent": "other"}):
        response = http.post("/api/v1/switches/revive", headers=AUTH, json=body)
        assert response.status_code == 404
        assert "no kill switch for" in response.json()["detail"]
        assert "tracereel switches" in response.json()["detail"]
    assert len(_switches(http)["switches"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"agent": "a"}, "body: reason: Field required"),
        ({"agent": "a", "reason": "   "}, "body: reason: String should have at least 1 character"),
        ({"agent": "", "reason": "r"}, "body: agent: String should have at least 1 character"),
        ({"reason": "r"}, "body: agent: Field required"),
        ({"agent": "a" * 201, "reason": "r"}, "body: agent: String should have at most 200 characters"),
        (
            {"agent": "a", "reason": "r", "verison": "1"},
            "invalid request body: verison: Extra inputs are not permitted",
        ),
        ({"agent": "a", "reason": "r", "version": 2}, "body: version: Input should be a valid string"),
    ],
)
def test_bad_kill_requests_are_422_naming_the_field_and_change_nothing(http, body, field):
    response = http.post("/api/v1/switches", headers=AUTH, json=body)
    assert response.status_code == 422
    assert field in response.json()["detail"]
    assert _switches(http)["switches"] == []


@pytest.mark.parametrize(
    ("params", "field"), [({"wait": "31"}, "wait"), ({"wait": "-1"}, "wait"), ({"since": "x" * 65}, "since")]
)
def test_bad_poll_parameters_are_400_naming_them(http, params, field):
    response = http.get("/api/v1/switches", headers=AUTH, params=params)
    assert response.status_code == 400
    assert field in response.json()["detail"]


def test_without_the_key_nothing_is_flipped(http):
    for path, body in (
        ("/api/v1/switches", {"agent": "a", "reason": "r"}),
        ("/api/v1/switches/revive", {"agent": "a"}),
    ):
        assert http.post(path, json=body).status_code == 401
    assert http.get("/api/v1/switches").status_code == 401
    assert _switches(http)["switches"] == []


def test_a_long_poll_answers_as_soon_as_a_switch_flips(http):
    version = _switches(http)["version"]
    # Nothing changes: the poll answers after its wait, with the same version.
    assert _switches(http, since=version, wait=0.2) == {"version": version, "switches": []}
    answers: list[dict[str, Any]] = []
    poll = threading.Thread(target=lambda: answers.append(_switches(http, since=version, wait=30)))
    poll.start()
    http.post("/api/v1/switches", headers=AUTH, json={"agent": "refunds", "reason": "now"})
    # Answered by the flip, long before the 30 s wait (the wait_until deadline is shorter).
    wait_until(lambda: not poll.is_alive(), "the long poll to answer after the kill", timeout=10)
    assert [s["agent"] for s in answers[0]["switches"]] == ["refunds"]
    assert answers[0]["version"] != version


def test_a_long_poll_notices_a_flip_made_through_another_collector(http, store):
    version = _switches(http)["version"]
    answers: list[dict[str, Any]] = []
    poll = threading.Thread(target=lambda: answers.append(_switches(http, since=version, wait=30)))
    poll.start()
    # Another collector on the same store: the flip is in the store, not through this app.
    flip_switch(store, SwitchKey("refunds"), "killed", reason="elsewhere", key_id=None)
    wait_until(lambda: not poll.is_alive(), "the long poll to notice the flip in the store", timeout=10)
    assert [s["reason"] for s in answers[0]["switches"]] == ["elsewhere"]


def test_a_reader_sees_its_teams_and_the_global_switches_within_its_globs(store):
    for team, agent, service in (
        ("", "refunds", ""),
        ("red", "billing", ""),
        ("red", "support", "api"),
        ("red", "support", "batch"),
        ("blue", "billing", ""),
    ):
        flip_switch(store, SwitchKey(agent, service=service, team=team), "killed", reason="r", key_id="k1")
    flip_switch(store, SwitchKey("gone", team="red"), "killed", reason="r", key_id="k1")
    flip_switch(store, SwitchKey("gone", team="red"), "revived", reason="r", key_id="k1")

    def seen(scope: Scope) -> list[tuple[str, str, str]]:
        return [(s["team"], s["agent"], s["service"]) for s in current_switches(store, scope)]

    assert seen(Scope(team="red")) == [
        ("red", "billing", ""),
        ("", "refunds", ""),
        ("red", "support", "api"),
        ("red", "support", "batch"),
    ]
    assert seen(Scope(team="blue", agents=("bill*",))) == [("blue", "billing", "")]
    # A service glob keeps the switches for every service (ServiceName '') and for matching services.
    assert seen(Scope(team="red", services=("api",))) == [
        ("red", "billing", ""),
        ("", "refunds", ""),
        ("red", "support", "api"),
    ]
    assert len(seen(Scope())) == 5


def test_only_admin_keys_flip_and_every_key_reads_within_its_scope(asgi_collector_factory, store):
    collector = asgi_collector_factory(admin_key="bootstrap")
    http = collector.http

    def key(role: str, team: str) -> tuple[str, dict[str, str]]:
        made = http.post(
            "/api/v1/keys", json={"team": team, "role": role}, headers={"authorization": "Bearer bootstrap"}
        )
        assert made.status_code == 201, made.text
        return made.json()["id"], {"authorization": f"Bearer {made.json()['key']}"}

    _, ingest = key("ingest", "red")
    admin_id, admin = key("admin", "red")
    flip_switch(store, SwitchKey("billing", team="blue"), "killed", reason="blue's", key_id=None)
    flip_switch(store, SwitchKey("billing", team="red"), "killed", reason="red's", key_id=None)

    response = http.post("/api/v1/switches", json={"agent": "a", "reason": "r"}, headers=ingest)
    assert response.status_code == 403
    assert response.json()["detail"] == "this key's role is ingest; this needs the admin role"
    revive = {"agent": "billing", "team": "red"}
    assert http.post("/api/v1/switches/revive", json=revive, headers=ingest).status_code == 403
    assert [s["reason"] for s in http.get("/api/v1/switches", headers=ingest).json()["switches"]] == ["red's"]

    response = http.post("/api/v1/switches", json={"agent": "a", "reason": "r", "team": "blue"}, headers=admin)
    assert response.status_code == 403 and "team red" in response.json()["detail"]
    response = http.post("/api/v1/switches", json={"agent": "a", "reason": "r"}, headers=admin)
    assert response.status_code == 201
    assert response.json()["switch"]["team"] == "red" and response.json()["switch"]["key_id"] == admin_id
