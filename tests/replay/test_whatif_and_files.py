"""What-if replays (overrides, live boundaries), trace files, crashed runs, and traces replay cannot run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from tracereel import semconv as sc
from tracereel.cli import main
from tracereel.replay import export_trace, load_file, replay, replay_file

HERE = Path(__file__).parent


def test_override_replaces_one_recorded_result_and_the_report_shows_the_new_outcome(recorder, agents):
    recorded = recorder.record("support", agents.support, "Is the kettle in stock?", "gu@example.com")
    agents.reset()
    agents.ARMED.set()
    # What if the inventory service had answered instead of timing out?
    report = replay(recorded.trace, overrides=["tool:check_inventory#1=3"])
    assert report.overridden == ["tool:check_inventory#1"]
    assert report.served == 4 and agents.BODY_RUNS == []
    assert report.divergence.kind == "different_output"
    assert report.outcome["changed"] is True
    assert "inventory unknown" in report.outcome["recorded"]["output"]["notes"]
    assert "inventory unknown" not in report.outcome["replayed"]["output"]["notes"]


def test_override_from_a_file_in_live_mode_runs_on_with_the_changed_result(recorder, agents, tmp_path):
    recorded = recorder.record("support", agents.support, "Please call me", "ha@example.com")
    agents.reset()
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps({"content": "We will call you today."}))
    report = replay(recorded.trace, overrides=[f"llm:fake-gpt#1=@{answer}"], mode="live")
    # The email the agent now writes differs from the recorded one: it diverges there and goes live.
    assert report.divergence.kind == "different_arguments"
    assert report.divergence.address["label"] == "tool:send_email#1"
    assert "We will call you today." in report.divergence.diff
    assert agents.BODY_RUNS == ["send_email"]
    assert agents.OUTBOX[0]["body"].startswith("We will call you today.")


def test_live_boundary_runs_for_real(recorder, agents):
    recorded = recorder.record("support", agents.support, "Resend the receipt", "io@example.com")
    agents.reset()
    agents.ARMED.set()
    agents.LIVE_OK.add("send_email")
    report = replay(recorded.trace, live=["tool:send_email"])
    assert agents.BODY_RUNS == ["send_email"] and len(agents.OUTBOX) == 1
    assert report.live == 1 and report.served == 4
    # A real email gets a new message id: the outcome changed, and the report says so.
    assert report.divergence.kind == "different_output"
    assert "message_id" in report.divergence.diff


def test_bad_override_cannot_run(recorder, agents):
    recorded = recorder.record("support", agents.support, "x", "ju@example.com")
    report = replay(recorded.trace, overrides=["tool:lookup_order#zero=1"])
    assert report.status == "cannot_run" and report.exit_code == 2
    assert "#zero is not a call number" in report.error


def test_exported_file_replays(recorder, agents, tmp_path):
    recorded = recorder.record("pricing", agents.pricing, ["CUP", "POT"])
    path = export_trace(recorded.trace, tmp_path / "trace.json", source=recorder.url)
    assert load_file(path)["format"] == "tracereel-trace/1"
    agents.reset()
    agents.ARMED.set()
    report = replay_file(path)
    assert report.reproduced, report.to_json()
    assert report.trace_id == recorded.trace_id

    # In a fresh process (a CI job) with no SDK configuration and no collector running: the
    # replay's own spans are discarded, not retried against a collector that is not there.
    code = f"from tracereel.replay import replay_file; print(replay_file({str(path)!r}).status)"
    env = {**os.environ, "TRACEREEL_ENDPOINT": "http://127.0.0.1:1", "PYTHONPATH": str(HERE)}
    env.pop("PYTEST_CURRENT_TEST", None)
    fresh = subprocess.run([sys.executable, "-c", code], cwd=HERE, env=env, capture_output=True, text=True, timeout=60)
    assert fresh.stdout.strip() == "reproduced", fresh.stderr
    assert "export" not in fresh.stderr.lower()


def test_a_crashed_half_finished_trace_replays_up_to_where_the_recording_ends(recorder, agents):
    env = {**os.environ, "REPLAY_TEST_CRASH": "1", "TRACEREEL_ENDPOINT": recorder.url, "PYTHONPATH": str(HERE)}
    env.pop("PYTEST_CURRENT_TEST", None)
    run = subprocess.run(
        [sys.executable, "-c", "import replay_agents; replay_agents.batch('nightly-export')"],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 3, run.stderr  # the process died mid-run
    trace_id = next(line.split()[1] for line in run.stdout.splitlines() if line.startswith("TRACE "))
    trace = recorder.trace(trace_id)
    assert not any(s["parent_span_id"] == "" for s in trace["spans"])  # the root span never arrived
    assert any(s["attributes"].get(sc.TASK_START) == "true" for s in trace["spans"])
    shown = CliRunner().invoke(main, ["show", trace_id, "--collector", recorder.url])
    assert shown.exit_code == 0 and "half-finished" in shown.output and "task_start batch" in shown.output

    agents.reset()
    agents.ARMED.set()
    report = replay(trace)
    assert report.truncated
    assert report.status == "diverged" and report.exit_code == 1
    assert report.divergence.kind == "end_of_recording"
    assert report.divergence.address["name"] == "crash_now"
    assert report.served == 2 and agents.BODY_RUNS == []
    assert agents.AGENT_RUNS == ["batch"]

    agents.reset()
    live = replay(trace, mode="live")
    # From the crash point on the run goes live (without the crash, this time) and finishes.
    assert agents.BODY_RUNS == ["crash_now", "send_email"]
    assert live.outcome["replayed"] == {"output": "done"}
    assert live.outcome["changed"] is None


def _root(trace):
    return next(s for s in trace["spans"] if not s["parent_span_id"])


def test_entry_point_not_importable_cannot_run_unless_overridden(recorder, agents):
    recorded = recorder.record("support", agents.support, "y", "ka@example.com")
    _root(recorded.trace)["attributes"][sc.ENTRYPOINT] = "gone_module:support"
    report = replay(recorded.trace)
    assert report.status == "cannot_run" and report.exit_code == 2
    assert "'gone_module' is not importable" in report.error
    agents.reset()
    assert replay(recorded.trace, entrypoint="replay_agents:support").reproduced


def test_trace_without_recorded_results_cannot_run_and_says_what_is_missing(recorder, agents):
    recorded = recorder.record("support", agents.support, "z", "li@example.com")
    for span in recorded.trace["spans"]:
        span["attributes"].pop(sc.TOOL_CALL_RESULT, None)
    report = replay(recorded.trace)
    assert report.status == "cannot_run"
    assert "no recorded result or exception" in report.error
    assert "tool:lookup_order#1" in report.error


def test_trace_from_another_instrumentation_cannot_run():
    foreign = {
        "trace_id": "ab" * 16,
        "spans": [
            {
                "span_id": "cd" * 8,
                "parent_span_id": "",
                "name": "POST /chat",
                "start_time_unix_nano": 1,
                "duration_ns": 5,
                "status_code": "OK",
                "attributes": {"http.method": "POST"},
                "events": [],
                "links": [],
            }
        ],
    }
    report = replay(foreign)
    assert report.exit_code == 2
    assert "no root @agent span" in report.error
