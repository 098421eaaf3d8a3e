"""The kill switch end to end: ``tracereel serve``, an agent in its own process, ``tracereel kill/revive/switches``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_cli_collector import _serve, stop
from tests.support import DEADLINE, assert_running, clean_env, wait_until
from tracereel.client import CollectorClient

pytestmark = pytest.mark.e2e

AGENT = textwrap.dedent(
    """
    import sys, time
    import tracereel

    @tracereel.agent(name="refunds", version="2.0")
    def refunds(n: int) -> str:
        return f"refunded {n}"

    @tracereel.agent(name="triage", fallback=lambda n: f"fallback {n}")
    def triage(n: int) -> str:
        return refunds(n)

    n = 0
    while True:
        n += 1
        try:
            print("ran", triage(n), flush=True)
        except tracereel.AgentDisabled as exc:
            print("blocked", exc, flush=True)
        time.sleep(0.1)  # simulated work between tasks: about 10 a second
    """
)


class Lines:
    """The agent process's stdout, read on a thread, so a test can wait for a line."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, prefix: str, after: int) -> str:
        """The first line from index ``after`` on that starts with ``prefix``."""

        def found() -> str | None:
            exited = self.process.poll() is not None
            if exited:
                self.reader.join(DEADLINE)  # every line it printed is read
            line = next((line for line in self.lines[after:] if line.startswith(prefix)), None)
            if line is None and exited:
                assert_running(self.process)  # fails, saying how it exited
            return line

        return wait_until(found, f"the agent to print {prefix!r}", state=lambda: self.lines[-3:])


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracereel", *args, "--collector", url],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    url, _, process = _serve(tmp_path)
    yield url
    if process.poll() is None:
        stop(process)


@pytest.fixture
def agent(served: str) -> Iterator[Lines]:
    process = subprocess.Popen(
        [sys.executable, "-c", AGENT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(TRACEREEL_ENDPOINT=served, OTEL_SERVICE_NAME="shop", PYTHONUNBUFFERED="1"),
    )
    yield Lines(process)
    process.kill()
    _, err = process.communicate(timeout=DEADLINE)
    assert "Traceback" not in err, err


def test_kill_reaches_a_running_agent_process_and_revive_lets_it_run_again(served, agent):
    agent.wait_for("ran refunded", 0)
    killed_from = time.time()

    # A sub-agent killed on its own: the AgentDisabled it raises goes up through triage, which is not killed.
    killed = cli(served, "kill", "refunds", "--version", "2.0", "--reason", "double charges")
    assert killed.returncode == 0, killed.stderr
    assert killed.stdout.strip() == "killed refunds@2.0: double charges"
    mark = len(agent.lines)
    # refunds raises AgentDisabled inside triage, which is not killed and not caught: it propagates.
    line = agent.wait_for("blocked", mark)
    assert line == "blocked agent 'refunds' version '2.0' is disabled by a kill switch: double charges"

    listed = cli(served, "switches")
    assert listed.returncode == 0, listed.stderr
    assert "refunds@2.0  killed " in listed.stdout and "by the collector's key: double charges" in listed.stdout
    as_json = json.loads(cli(served, "switches", "--json").stdout)
    assert [(s["agent"], s["version"], s["reason"]) for s in as_json["switches"]] == [
        ("refunds", "2.0", "double charges")
    ]

    # The parent killed too: its fallback answers, without running its body.
    assert cli(served, "kill", "triage", "--reason", "stop everything").returncode == 0
    agent.wait_for("ran fallback", len(agent.lines))

    assert cli(served, "revive", "triage").returncode == 0
    revived = cli(served, "revive", "refunds", "--version", "2.0")
    assert revived.returncode == 0 and revived.stdout.strip() == "revived refunds@2.0"
    revived_at = time.time()
    agent.wait_for("ran refunded", len(agent.lines))
    assert cli(served, "switches").stdout.strip() == "no agent is killed"

    # The killed calls are in the store: spans marked tracereel.killed, counted by the metrics.
    # The agent keeps running: the list is the tasks from the first kill to the last revive, or the
    # killed ones would scroll out of a newest-N list on a slow machine (where the CLI calls between
    # them take longer). Newest first, the killed tasks come soon: the traces are fetched one by
    # one until both agents' killed spans are in (every killed span fetched is kept and checked).
    client = CollectorClient(served)
    both = {"invoke_agent refunds", "invoke_agent triage"}

    def both_killed() -> list[dict]:
        found = []
        window = {"start": f"{killed_from:.3f}", "end": f"{revived_at:.3f}"}
        for summary in client.traces(agent="triage", limit=1000, **window):
            trace = client.trace(summary["trace_id"])
            found += [s for s in trace["spans"] if s["attributes"].get("tracereel.killed") == "true"]
            if {s["name"] for s in found} >= both:
                return found
        return []

    spans = wait_until(both_killed, "killed spans to be stored")
    reasons = {s["attributes"]["tracereel.killed.reason"] for s in spans}
    assert reasons == {"double charges", "stop everything"}
    wait_until(lambda: client.metrics().killed_rate, "the metrics to count the killed tasks")


def test_cli_errors_are_one_line(served):
    missing = cli(served, "kill", "refunds")
    assert missing.returncode == 2 and "Missing option '--reason'" in missing.stderr
    empty = cli(served, "kill", "refunds", "--reason", " ")
    assert empty.returncode == 2 and "--reason" in empty.stderr and "must not be empty" in empty.stderr
    not_killed = cli(served, "revive", "refunds")
    assert not_killed.returncode == 2
    assert not_killed.stderr.strip() == (
        "Error: no kill switch for refunds is in force; `tracereel switches` lists the ones that are "
        "(revive with the same agent, version, service and team they were killed with)"
    )
    for args in (("kill", "x", "--reason", "r"), ("revive", "x"), ("switches",)):
        down = cli("http://127.0.0.1:9", *args)
        assert down.returncode == 2, args
        assert len(down.stderr.strip().splitlines()) == 1 and "Cannot reach the collector" in down.stderr, args


FORKING_AGENT = textwrap.dedent(
    """
    import os, sys, time
    import tracereel

    @tracereel.agent(name="forked")
    def forked() -> str:
        return "ran"

    forked()  # the parent's poller starts
    child = os.fork()
    if child == 0:
        # The poller thread did not survive the fork: the child's first call starts its own.
        print("ready", forked(), flush=True)
        for _ in range(2400):
            try:
                forked()
            except tracereel.AgentDisabled as exc:
                print("child blocked:", exc.reason, flush=True)
                os._exit(0)
            time.sleep(0.05)
        os._exit(1)
    _, status = os.waitpid(child, 0)
    sys.exit(os.waitstatus_to_exitcode(status))
    """
)


def test_a_forked_child_polls_the_switches_itself(served):
    process = subprocess.Popen(
        [sys.executable, "-c", FORKING_AGENT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(TRACEREEL_ENDPOINT=served, PYTHONUNBUFFERED="1"),
    )
    lines = Lines(process)
    try:
        lines.wait_for("ready ran", 0)
        assert cli(served, "kill", "forked", "--reason", "stop the child").returncode == 0
        assert lines.wait_for("child blocked:", 0) == "child blocked: stop the child"
        assert process.wait(DEADLINE) == 0
    finally:
        process.kill()
        process.wait()
