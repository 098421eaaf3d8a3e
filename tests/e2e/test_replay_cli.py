"""`tracereel replay` end to end: a script records a run into a real collector, the CLI replays it in a
fresh process, a code change makes it diverge, and unknown traces exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.support import clean_env

pytestmark = pytest.mark.e2e

AGENT_SCRIPT = textwrap.dedent(
    '''
    """A shop assistant, run as a script (its entry point is __main__:assist)."""
    import random
    import sys
    import time
    import uuid
    from pathlib import Path

    import tracereel
    from opentelemetry import trace

    SENT = Path(__file__).with_name("sent.log")


    @tracereel.tool
    def find_product(query: str) -> dict:
        return {"sku": "KT-" + query[:3].upper(), "price": round(random.uniform(20, 40), 2)}


    class OutOfStock(Exception):
        pass


    @tracereel.tool
    def reserve(sku: str) -> str:
        raise OutOfStock(f"{sku} is out of stock")


    @tracereel.tool
    def notify(to: str, text: str) -> str:
        with SENT.open("a") as out:  # a side effect replay must not repeat
            out.write(f"{to}: {text}\\n")
        return "msg-" + uuid.uuid4().hex[:8]


    @tracereel.llm(model="offline-model")
    def ask_llm(messages: list) -> dict:
        return {"content": "Suggest " + messages[-1]["content"]}


    @tracereel.agent(name="shop")
    def assist(request: str, customer: str) -> dict:
        global TRACE_ID
        TRACE_ID = format(trace.get_current_span().get_span_context().trace_id, "032x")
        order_ref = str(uuid.uuid4())
        product = find_product(request)
        try:
            reserve(product["sku"])
            held = True
        except OutOfStock as exc:  # the script's own exception class, re-raised by replay
            held = str(exc)
        advice = ask_llm([{"role": "user", "content": request}])
        receipt = notify(customer, advice["content"] + " QUERY_SUFFIX")
        return {"ref": order_ref, "product": product, "advice": advice["content"], "receipt": receipt, "held": held,
                "at": time.time(), "luck": random.random()}


    if __name__ == "__main__":
        print(assist(sys.argv[1], sys.argv[2]))
        print("TRACE", TRACE_ID)
        tracereel.flush()
    '''
)


def _cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracereel", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_replay_cli_subprocess_against_a_real_collector(collector: Any, tmp_path: Path, unused_port: int) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    script = project / "shop_agent.py"
    script.write_text(AGENT_SCRIPT.replace(" QUERY_SUFFIX", ""))
    # As a user runs it: not under pytest (the SDK re-raises its own errors there).
    env = {k: v for k, v in clean_env(TRACEREEL_ENDPOINT=collector.url).items() if not k.startswith("PYTEST")}

    recorded = subprocess.run(
        [sys.executable, str(script), "electric kettle", "rae@example.com"],
        cwd=project,
        env={**env, "OTEL_SERVICE_NAME": "shop-service"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert recorded.returncode == 0, recorded.stderr
    trace_id = recorded.stdout.split("TRACE ")[1].strip()
    sent = (project / "sent.log").read_text()
    assert sent.count("\n") == 1

    # Replay from another directory: the script entry point is found through its recorded file.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = _cli(["replay", trace_id, "--json"], elsewhere, env)  # --collector from TRACEREEL_ENDPOINT
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "reproduced" and report["served"] == 4
    assert report["outcome"]["replayed"] == report["outcome"]["recorded"]
    assert report["nondeterminism"]["served"] >= 3  # uuid4, time.time and random came from the recording
    assert (project / "sent.log").read_text() == sent  # the notification was not sent again

    # The replay went to the collector as a new trace linked to the original.
    with collector.client() as http:
        replayed = http.get(f"/api/v1/traces/{report['replay_trace_id']}").json()
    root = next(s for s in replayed["spans"] if not s["parent_span_id"])
    assert root["attributes"]["tracereel.replay.of"] == trace_id
    assert root["service_name"] == "shop-service"  # next to the original in the dashboard
    assert root["links"][0]["trace_id"] == trace_id

    # Change the code: the notification text differs. Strict replay stops there, exit 1.
    script.write_text(AGENT_SCRIPT.replace("QUERY_SUFFIX", "(sent by v2)"))
    result = _cli(["replay", trace_id, "--collector", collector.url], elsewhere, env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "diverged (different_arguments)" in result.stdout
    assert "shop / tool:notify, call 1 there [tool:notify#1]" in result.stdout
    assert "(sent by v2)" in result.stdout
    assert (project / "sent.log").read_text() == sent

    # Export, then replay the file with the original code back in place.
    script.write_text(AGENT_SCRIPT.replace(" QUERY_SUFFIX", ""))
    result = _cli(["export", trace_id, "-o", "bug.json"], elsewhere, env)
    assert result.returncode == 0, result.stderr
    result = _cli(
        ["replay", "--file", "bug.json"], elsewhere, {**env, "TRACEREEL_ENDPOINT": f"http://127.0.0.1:{unused_port}"}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reproduced: 4 recorded call(s) served" in result.stdout

    # Cannot run: an unknown trace, and a missing entry point. One line, exit 2, no traceback.
    result = _cli(["replay", "f" * 32], elsewhere, env)
    assert result.returncode == 2
    assert result.stderr.strip() == f"Error: trace {'f' * 32}: not found (no trace with id {'f' * 32} in the store)"
    script.unlink()
    result = _cli(["replay", trace_id], elsewhere, env)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: the entry point's script") and "does not exist here" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
