"""``tracereel keys`` and ``tracereel audit`` against a real collector, and the non-loopback rule of ``serve``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from tests.conftest import RunningCollector, start_collector
from tests.support import claim_port, clean_env, migrated_store, wait_healthy
from tracereel.cli import main

ADMIN = "cli-admin-key-for-tests"


@pytest.fixture
def keyed(store: Any) -> Iterator[RunningCollector]:
    running, _ = start_collector(store, admin_key=ADMIN)
    yield running
    running.stop()


def run(collector: RunningCollector, *args: str, key: str = ADMIN) -> Result:
    env = {"TRACEREEL_API_KEY": key, "TRACEREEL_ENDPOINT": collector.url}
    return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)


def test_keys_create_list_revoke_and_audit(keyed: RunningCollector):
    made = run(keyed, "keys", "create", "--team", "alpha", "--role", "read", "--agents", "support-*,triage", "--json")
    assert made.exit_code == 0, made.output
    key = json.loads(made.output)
    assert list(key) == ["id", "key", "team", "role", "agents", "services"]
    assert (key["team"], key["role"], key["agents"], key["services"]) == ("alpha", "read", ["support-*", "triage"], [])
    with httpx.Client(base_url=keyed.url) as http:
        assert http.get("/api/v1/traces", headers={"authorization": f"Bearer {key['key']}"}).status_code == 200

    plain = run(keyed, "keys", "create", "--team", "beta", "--role", "ingest")
    assert plain.exit_code == 0
    assert plain.output.splitlines()[0].startswith("created key trk_")

    listed = run(keyed, "keys", "list")
    assert listed.exit_code == 0
    assert key["id"] in listed.output and "agents=support-*,triage" in listed.output
    assert key["key"] not in listed.output
    as_json = json.loads(run(keyed, "keys", "list", "--json").output)
    assert [k["team"] for k in as_json] == ["alpha", "beta"]

    revoked = run(keyed, "keys", "revoke", key["id"])
    assert (revoked.exit_code, revoked.output) == (0, f"revoked key {key['id']}\n")
    assert "revoked" in run(keyed, "keys", "list").output

    audit = run(keyed, "audit", "--json")
    assert audit.exit_code == 0
    entries = json.loads(audit.output)
    assert [e["action"] for e in entries] == ["key_revoked", "key_created", "key_created"]
    assert {e["key_id"] for e in entries} == {"TRACEREEL_ADMIN_KEY"}
    short = run(keyed, "audit", "--limit", "1")
    assert short.exit_code == 0 and len(short.output.splitlines()) == 1 and "key_revoked" in short.output


def test_keys_and_audit_failures_are_one_line(keyed: RunningCollector):
    reader = json.loads(run(keyed, "keys", "create", "--team", "a", "--role", "read", "--json").output)["key"]
    for args, key, words in [
        (("keys", "list"), "wrong", "refused the request"),
        (("audit",), reader, "this needs the admin role"),
        (("keys", "revoke", "trk_000000000000"), ADMIN, "no key with id trk_000000000000"),
        (("keys", "create", "--team", "bad team", "--role", "read"), ADMIN, "team: String should match pattern"),
    ]:
        result = run(keyed, *args, key=key)
        assert result.exit_code == 2, result.output
        assert len(result.output.strip().splitlines()) == 1 and words in result.output, result.output
    wrong_role = run(keyed, "keys", "create", "--team", "a", "--role", "owner")
    assert wrong_role.exit_code == 2 and "'owner' is not one of" in wrong_role.output


def _serve(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "tracereel", "serve", "--store", migrated_store(tmp_path / "store"), *args]
    return subprocess.Popen(argv, env=clean_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_serve_refuses_a_non_loopback_address_with_auth_off(tmp_path: Path):
    port = claim_port()
    process = _serve(tmp_path, "--host", "0.0.0.0", "--port", str(port))
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2  # cannot run
    assert "refusing to listen on 0.0.0.0 with auth off" in err
    assert "TRACEREEL_ADMIN_KEY" in err and "--insecure-no-auth" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "env"),
    [(("--insecure-no-auth",), {}), ((), {"TRACEREEL_ADMIN_KEY": "k"})],
    ids=["insecure-no-auth", "admin-key"],
)
def test_serve_binds_a_non_loopback_address_with_auth_on_or_when_told(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str]
):
    port = claim_port()
    process = _serve(tmp_path, "--host", "0.0.0.0", "--port", str(port), *args, **env)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/traces")
        assert answer.status_code == (401 if env else 200)
    finally:
        process.terminate()
        process.communicate(timeout=60)
