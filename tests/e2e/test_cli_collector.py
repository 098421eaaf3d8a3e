"""The collector as a user runs it: ``tracereel serve`` and ``tracereel up`` as real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port, wait_healthy


def cli(*args: str, **kwargs) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tracereel", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        **kwargs,
    )


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    return process.communicate(timeout=60)


@pytest.fixture
def served(tmp_path: Path):
    port = free_port()
    store = f"chdb://{tmp_path / 'store'}"
    process = cli("serve", "--port", str(port), "--store", store)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, process)
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
        env={**os.environ, "TRACEREEL_ENDPOINT": url, "OTEL_SERVICE_NAME": "shop", "PYTEST_CURRENT_TEST": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert agent.returncode == 0, agent.stderr
    assert agent.stdout.strip() == "shipped"
    deadline = time.monotonic() + 30
    while not (traces := get_json(f"{url}/api/v1/traces?service=shop")["traces"]):
        assert time.monotonic() < deadline, "the agent's trace never arrived"
        time.sleep(0.2)
    (trace,) = traces
    assert trace["agent_name"] == "orders"
    detail = get_json(f"{url}/api/v1/traces/{trace['trace_id']}")
    assert "execute_tool lookup" in {s["name"] for s in detail["spans"]}
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
    port = url.rsplit(":", 1)[1]
    assert f"127.0.0.1:{port}" in listening and f"0.0.0.0:{port}" not in listening
    out, _ = stop(process)
    assert f"tracereel collector on {url}" in out
    assert process.returncode == 0


def test_a_second_collector_on_the_same_store_gets_one_clear_line(served):
    _, store, _ = served
    second = cli("serve", "--port", str(free_port()), "--store", store)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 1
    assert "is in use by another process" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--store", "postgres://db/x"), "TRACEREEL_STORE"),
        (("--port", "70000"), "--port / TRACEREEL_PORT"),
    ],
)
def test_bad_options_are_one_line_errors(args, message):
    process = cli("serve", *args)
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert message in err
    assert "Traceback" not in err


def test_up_with_demo_fills_the_store_and_shuts_down_cleanly(tmp_path: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}  # the default store lives under the data dir
    process = subprocess.Popen(
        [sys.executable, "-m", "tracereel", "up", "--demo", "--no-dashboard", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        wait_healthy(url, process)
        deadline = time.monotonic() + 120
        while len(get_json(f"{url}/api/v1/traces?limit=1000")["traces"]) < 50:
            assert time.monotonic() < deadline, "the demo did not fill the store"
            time.sleep(0.5)
    finally:
        _, err = stop(process)
    assert process.returncode == 0, err
    assert (tmp_path / "tracereel" / "store").is_dir()


def test_parse_workers_do_not_outlive_a_killed_collector(served):
    _, _, process = served
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    assert children, "the collector should run its OTLP parsing in worker processes"
    process.kill()
    process.wait(30)
    deadline = time.monotonic() + 15
    while any(os.path.exists(f"/proc/{pid}") for pid in children):
        assert time.monotonic() < deadline, "parse workers outlived their collector"
        time.sleep(0.2)
