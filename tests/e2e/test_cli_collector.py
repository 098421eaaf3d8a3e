"""The collector as a user runs it: ``tracereel serve`` and ``tracereel up`` as real processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest

from tests.support import (
    claim_port,
    clean_env,
    describe_processes,
    listening_addresses,
    migrated_store,
    session_processes,
    wait_healthy,
    wait_until,
)

pytestmark = pytest.mark.e2e


def cli(*args: str, new_session: bool = False, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tracereel", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(PYTHONUNBUFFERED="1", **env),
        start_new_session=new_session,
    )


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    return process.communicate(timeout=60)


def _serve(tmp_path: Path, new_session: bool = False, **env: str):
    port = claim_port()
    # Migrated already: a serve on a new store (which migrates it) is the gRPC tests' below.
    store = migrated_store(tmp_path / "store")
    process = cli("serve", "--port", str(port), "--store", store, new_session=new_session, **env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return url, store, process


@pytest.fixture
def served(tmp_path: Path):
    url, store, process = _serve(tmp_path)
    yield url, store, process
    if process.poll() is None:
        stop(process)


def test_serve_binds_localhost_and_stores_what_an_instrumented_app_sends(served):
    url, _, process = served
    agent = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import tracereel

                @tracereel.tool
                def lookup(order: str) -> str:
                    return "shipped"

                @tracereel.agent(name="orders", version="3")
                def orders(order: str) -> str:
                    return lookup(order)

                print(orders("A-1"))
                """
            ),
        ],
        env=clean_env(TRACEREEL_ENDPOINT=url, OTEL_SERVICE_NAME="shop", PYTEST_CURRENT_TEST=""),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert agent.returncode == 0, agent.stderr
    assert agent.stdout.strip() == "shipped"
    (trace,) = wait_until(
        lambda: get_json(f"{url}/api/v1/traces?service=shop")["traces"], "the agent's trace to reach the collector"
    )
    assert trace["agent_name"] == "orders"
    detail = get_json(f"{url}/api/v1/traces/{trace['trace_id']}")
    assert "execute_tool lookup" in {s["name"] for s in detail["spans"]}
    # Bound to 127.0.0.1 only, as the kernel reports it: not 0.0.0.0, not ::.
    assert listening_addresses(int(url.rsplit(":", 1)[1])) == {"127.0.0.1"}
    out, _ = stop(process)
    assert f"tracereel collector on {url}" in out
    assert process.returncode == 0


def test_a_second_collector_on_the_same_store_gets_one_clear_line(served):
    _, store, _ = served
    second = cli("serve", "--port", str(claim_port()), "--store", store)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 2  # cannot run
    assert "is in use by another process" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--store", "postgres://db/x"), "TRACEREEL_STORE"),
        (("--port", "70000"), "--port / TRACEREEL_PORT"),
        (("--drain-interval", "0"), "--drain-interval"),
    ],
)
def test_bad_options_are_one_line_errors(args, message):
    process = cli("serve", *args)
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert message in err
    assert "Traceback" not in err


@contextlib.contextmanager
def _taken(port: int):
    """Another program listening on ``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", port))
        other.listen()
        yield


def test_serve_names_both_ports_it_listens_on(tmp_path: Path):
    http, grpc = claim_port(), claim_port()
    process = cli("serve", "--port", str(http), "--grpc-port", str(grpc), "--store", f"chdb://{tmp_path / 's'}")
    try:
        wait_healthy(f"http://127.0.0.1:{http}", process)
    finally:
        out, err = stop(process)
    assert process.returncode == 0, err
    first = out.splitlines()[0]
    assert first.startswith(f"tracereel collector on http://127.0.0.1:{http} (OTLP/HTTP and the API)"), out
    assert f"OTLP/gRPC on 127.0.0.1:{grpc}" in first


@pytest.mark.parametrize("taken", ["http", "grpc", "both"])
def test_a_port_in_use_is_one_line_naming_the_port_and_its_option(tmp_path: Path, taken: str):
    http, grpc = claim_port(), claim_port()
    ports = {"http": [http], "grpc": [grpc], "both": [http, grpc]}[taken]
    with contextlib.ExitStack() as held:
        for port in ports:
            held.enter_context(_taken(port))
        process = cli("serve", "--port", str(http), "--grpc-port", str(grpc), "--store", f"chdb://{tmp_path / 's'}")
        out, err = process.communicate(timeout=120)
    assert process.returncode == 2, err
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    # HTTP is bound first: with both taken, the line names the HTTP port.
    port, option = (grpc, "--grpc-port") if taken == "grpc" else (http, "--port")
    assert f"127.0.0.1:{port} (already in use)" in line
    assert f"pass {option} N" in line
    assert "tracereel collector on" not in out  # nothing was announced, nothing served


def test_up_with_demo_fills_the_store_and_shuts_down_cleanly(tmp_path: Path):
    port = claim_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "tracereel", "up", "--demo", "--no-dashboard", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(XDG_DATA_HOME=str(tmp_path)),  # the default store lives under the data dir
    )
    try:
        wait_healthy(url, process)
        wait_until(
            lambda: len(get_json(f"{url}/api/v1/traces?limit=1000")["traces"]) >= 50,
            "the demo to fill the store with 50 traces",
            interval=0.5,
        )
        # Then its golden set, beside the store, evaluated for the stable and the canary.
        wait_until(
            lambda: len(get_json(f"{url}/api/v1/evals/runs?dataset=demo-golden")["runs"]) == 2,
            "the demo's golden set to be run twice",
            interval=0.5,
        )
        # And its online groundedness rule, scored by the evaluator `up` runs (the judge's fallback: no model).
        scored = wait_until(
            lambda: [
                r["progress"]["scored"]
                for r in get_json(f"{url}/api/v1/online/rules")["rules"]
                if r["name"] == "demo-groundedness" and r["progress"]["scored"] >= 50
            ],
            "the evaluator to score the demo's traces for its online rule",
            interval=0.5,
        )
        assert scored
    finally:
        out, err = stop(process)
    assert process.returncode == 0, err
    assert f"tracereel collector on {url}" in out
    assert "OTLP/gRPC off (--grpc-port 0)" in out  # clean_env turns gRPC off; both ports are always named
    assert (tmp_path / "tracereel" / "store").is_dir()
    assert (tmp_path / "tracereel" / "demo-golden" / "golden.yaml").is_file()


def test_parse_workers_do_not_outlive_a_killed_collector(tmp_path: Path):
    # In a session of its own: every process the collector starts is found by the session id.
    _, _, process = _serve(tmp_path, new_session=True, TRACEREEL_PARSE_WORKERS="2")
    session = process.pid
    try:
        wait_until(
            lambda: len(session_processes(session) - {process.pid}) >= 2,
            "the collector to start its OTLP parse worker processes",
        )
    finally:
        process.kill()
        process.wait()  # not communicate(): the workers hold its output pipes until they exit
    # SIGKILL: the collector could not stop its pool, the workers must notice on their own.
    try:
        wait_until(
            lambda: not session_processes(session),
            "every process the killed collector started to exit",
            state=lambda: "still running:\n" + describe_processes(session_processes(session)),
        )
    finally:
        for pid in session_processes(session):  # a failed run leaves no orphans behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.communicate()
