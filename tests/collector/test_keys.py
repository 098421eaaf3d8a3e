"""API keys: create, use, list, revoke; stored hashed; the bootstrap admin key; auth on once a key exists; audit."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

import tracereel.collector
from tests.collector.otlp_payloads import ROOT, protobuf_request
from tests.support import wait_until
from tracereel.collector.control import REFRESH_SECONDS, hash_key

ADMIN = "bootstrap-admin-key-for-tests"
UNAUTHORIZED = {"detail": "missing or wrong API key (Authorization: Bearer ...)"}
KEY_TEXT = re.compile(r"^tr_(trk_[0-9a-f]{12})_[A-Za-z0-9_-]{43}$")


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def _every_stored_value(store: Any) -> str:
    """Every row of every table of the store, as text."""
    tables = [
        row[0]
        for row in store.query(
            "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree%'"
        )
    ]
    assert "tracereel_keys" in tables and "tracereel_audit" in tables
    return "\n".join(str(store.query(f"SELECT * FROM {table}")) for table in tables)


def test_a_key_is_created_used_listed_revoked_and_then_refused(asgi_collector_factory: Any):
    collector = asgi_collector_factory(admin_key=ADMIN)
    http = collector.http
    made = http.post(
        "/api/v1/keys", json={"team": "alpha", "role": "read", "agents": ["support-*"]}, headers=bearer(ADMIN)
    )
    assert made.status_code == 201, made.text
    key = made.json()
    match = KEY_TEXT.match(key["key"])
    assert match and match.group(1) == key["id"]
    assert (key["team"], key["role"], key["agents"], key["services"]) == ("alpha", "read", ["support-*"], [])
    assert key["created_by"] == "TRACEREEL_ADMIN_KEY"

    assert http.get("/api/v1/traces", headers=bearer(key["key"])).status_code == 200

    listed = http.get("/api/v1/keys", headers=bearer(ADMIN)).json()["keys"]
    assert [k["id"] for k in listed] == [key["id"]]
    assert set(listed[0]) == {"id", "team", "role", "agents", "services", "created_at", "created_by", "revoked_at"}
    assert key["key"] not in str(listed) and hash_key(key["key"]) not in str(listed)

    revoked = http.delete(f"/api/v1/keys/{key['id']}", headers=bearer(ADMIN))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    # At once, with the same answer as a key that never existed.
    after = http.get("/api/v1/traces", headers=bearer(key["key"]))
    wrong = http.get("/api/v1/traces", headers=bearer(key["key"][:-1] + "x"))
    assert after.status_code == wrong.status_code == 401
    assert after.json() == wrong.json() == UNAUTHORIZED
    assert after.headers["www-authenticate"] == wrong.headers["www-authenticate"] == "Bearer"
    assert http.delete("/api/v1/keys/trk_000000000000", headers=bearer(ADMIN)).status_code == 404


def test_the_key_text_is_nowhere_in_the_store_only_its_hash(asgi_collector_factory: Any):
    collector = asgi_collector_factory(admin_key=ADMIN)
    key = collector.http.post("/api/v1/keys", json={"team": "t", "role": "ingest"}, headers=bearer(ADMIN)).json()
    body = protobuf_request([{"span_id": ROOT}])
    sent = collector.http.post(
        "/v1/traces", content=body, headers={"content-type": "application/x-protobuf", **bearer(key["key"])}
    )
    assert sent.status_code == 200
    everything = _every_stored_value(collector.store)
    secret = key["key"].split("_", 3)[3]
    assert key["key"] not in everything and secret not in everything and ADMIN not in everything
    assert hash_key(key["key"]) in everything
    assert key["id"] in everything


def test_auth_is_off_until_a_key_exists_then_on_for_every_endpoint_but_healthz(asgi_collector_factory: Any):
    http = asgi_collector_factory().http
    assert http.get("/api/v1/traces").status_code == 200
    created = http.post("/api/v1/keys", json={"team": "ops", "role": "admin"})
    assert created.status_code == 201
    assert created.json()["created_by"] == "(auth off)"
    assert http.get("/api/v1/traces").json() == UNAUTHORIZED
    assert http.get("/healthz").status_code == 200
    assert http.get("/api/v1/traces", headers=bearer(created.json()["key"])).status_code == 200
    # Revoking every key keeps auth on: the collector does not fall open.
    key_id = created.json()["id"]
    assert http.delete(f"/api/v1/keys/{key_id}", headers=bearer(created.json()["key"])).status_code == 200
    assert http.get("/api/v1/traces").status_code == 401


def test_the_bootstrap_admin_key_and_the_older_api_key_are_admin_keys(asgi_collector_factory: Any):
    http = asgi_collector_factory(admin_key=ADMIN, api_key="older-shared-key").http
    assert http.get("/api/v1/traces").status_code == 401
    for key in (ADMIN, "older-shared-key"):
        assert http.get("/api/v1/audit", headers=bearer(key)).status_code == 200
        assert http.post("/api/v1/keys", json={"team": "t", "role": "read"}, headers=bearer(key)).status_code == 201
    ids = {entry["key_id"] for entry in http.get("/api/v1/audit", headers=bearer(ADMIN)).json()["entries"]}
    assert ids == {"TRACEREEL_ADMIN_KEY", "TRACEREEL_API_KEY"}


def test_bad_key_requests_are_422_naming_the_field_and_change_nothing(asgi_collector_factory: Any):
    http = asgi_collector_factory(admin_key=ADMIN).http
    for body, problem in [
        ({"team": "t", "role": "owner"}, "role: Input should be 'ingest', 'read' or 'admin'"),
        ({"team": "", "role": "read"}, "team: String should match pattern"),
        ({"team": "t", "role": "read", "agents": [""]}, "agents.0: String should match pattern"),
        ({"team": "t", "role": "read", "agents": ["a,b"]}, "agents.0: String should match pattern"),
        ({"role": "read"}, "team: Field required"),
        ({"team": "t", "role": "read", "teams": ["x"]}, "teams: Extra inputs are not permitted"),
    ]:
        response = http.post("/api/v1/keys", json=body, headers=bearer(ADMIN))
        assert response.status_code == 422 and problem in response.json()["detail"], response.text
    assert http.get("/api/v1/keys", headers=bearer(ADMIN)).json() == {"keys": []}


def test_every_admin_action_is_in_the_audit_log_with_its_key_and_time(asgi_collector_factory: Any):
    collector = asgi_collector_factory(admin_key=ADMIN)
    http = collector.http
    admin2 = http.post("/api/v1/keys", json={"team": "ops", "role": "admin"}, headers=bearer(ADMIN)).json()
    ingest = http.post("/api/v1/keys", json={"team": "ops", "role": "ingest"}, headers=bearer(admin2["key"])).json()
    body = protobuf_request([{"span_id": ROOT, "start": 1_700_000_000_000_000_000}])
    http.post("/v1/traces", content=body, headers={"content-type": "application/x-protobuf", **bearer(ingest["key"])})
    trace_id = "5b8efff798038103d269b633813fc60c"
    assert http.delete(f"/api/v1/traces/{trace_id}", headers=bearer(admin2["key"])).status_code == 200
    assert http.delete(f"/api/v1/keys/{ingest['id']}", headers=bearer(ADMIN)).status_code == 200

    entries = http.get("/api/v1/audit", headers=bearer(ADMIN)).json()["entries"]
    got = [(e["action"], e["target"], e["key_id"]) for e in reversed(entries)]
    assert got == [
        ("key_created", admin2["id"], "TRACEREEL_ADMIN_KEY"),
        ("key_created", ingest["id"], admin2["id"]),
        ("delete_trace", trace_id, admin2["id"]),
        ("key_revoked", ingest["id"], "TRACEREEL_ADMIN_KEY"),
    ]
    assert all(re.match(r"^\d{4}-\d\d-\d\dT", e["time"]) for e in entries)
    assert [
        e["action"] for e in http.get("/api/v1/audit", params={"limit": 1}, headers=bearer(ADMIN)).json()["entries"]
    ] == ["key_revoked"]


def test_a_key_revoked_through_another_collector_stops_working_within_the_refresh_bound(
    asgi_collector_factory: Any,
):
    first = asgi_collector_factory(admin_key=ADMIN).http
    second = asgi_collector_factory(admin_key=ADMIN).http
    key = first.post("/api/v1/keys", json={"team": "t", "role": "read"}, headers=bearer(ADMIN)).json()
    wait_until(
        lambda: second.get("/api/v1/traces", headers=bearer(key["key"])).status_code == 200,
        "the second collector knows the new key",
        REFRESH_SECONDS * 3,
    )
    assert first.delete(f"/api/v1/keys/{key['id']}", headers=bearer(ADMIN)).status_code == 200
    assert first.get("/api/v1/traces", headers=bearer(key["key"])).status_code == 401
    wait_until(
        lambda: second.get("/api/v1/traces", headers=bearer(key["key"])).status_code == 401,
        "the second collector refuses the revoked key",
        REFRESH_SECONDS * 3,
    )


def test_every_admin_action_in_the_collector_writes_the_audit_table():
    # record_admin_action only writes the table when given the store: a caller that forgets it
    # would log and not audit. Every call in the collector must pass store=.
    root = Path(tracereel.collector.__file__).parent
    calls = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            args = [node.func, *node.args]
            named = any(isinstance(a, ast.Name) and a.id == "record_admin_action" for a in args)
            if named:
                calls.append((path.name, {k.arg for k in node.keywords}))
    assert len(calls) >= 3
    assert all("store" in keywords for _, keywords in calls), calls


@pytest.mark.parametrize("role", ["ingest", "read"])
def test_only_admins_manage_keys_and_read_the_audit_log(asgi_collector_factory: Any, role: str):
    http = asgi_collector_factory(admin_key=ADMIN).http
    key = http.post("/api/v1/keys", json={"team": "t", "role": role}, headers=bearer(ADMIN)).json()
    for method, path in [("GET", "/api/v1/keys"), ("DELETE", f"/api/v1/keys/{key['id']}"), ("GET", "/api/v1/audit")]:
        response = http.request(method, path, headers=bearer(key["key"]))
        assert response.status_code == 403
        assert response.json() == {"detail": f"this key's role is {role}; this needs the admin role"}
