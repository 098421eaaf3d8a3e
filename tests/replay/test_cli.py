"""The replay, export and show commands, in process (click's runner) against the module's real collector."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.support import wait_until
from tracereel.cli import main
from tracereel.client import CollectorClient


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_replay_reproduced_exits_0_and_prints_the_report(recorder, agents):
    recorded = recorder.record("support", agents.support, "Lost parcel", "ma@example.com")
    agents.reset()
    agents.ARMED.set()
    result = _run("replay", recorded.trace_id, "--collector", recorder.url)
    assert result.exit_code == 0, result.output
    assert "reproduced: 5 recorded call(s) served" in result.output
    assert f"linked to {recorded.trace_id}" in result.output


def test_replay_diverged_exits_1_and_json_report(recorder, agents):
    recorded = recorder.record("support", agents.support, "Lost parcel again", "no@example.com")
    agents.reset()
    agents.BEHAVIOUR["order_id"] = "A-0000"
    agents.ARMED.set()
    result = _run("replay", recorded.trace_id, "--collector", recorder.url, "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["status"] == "diverged" and report["exit_code"] == 1
    assert report["divergence"]["kind"] == "different_arguments"
    assert report["divergence"]["address"]["label"] == "tool:lookup_order#1"
    assert report["divergence"]["candidates"][0]["arguments"] == {"order_id": "A-1001"}


def test_human_report_shows_diff_and_candidates(recorder, agents):
    recorded = recorder.record("support", agents.support, "Dented kettle", "ol@example.com")
    agents.reset()
    agents.BEHAVIOUR["order_id"] = "A-5"
    agents.ARMED.set()
    result = _run("replay", recorded.trace_id, "--collector", recorder.url, "--no-record")
    assert result.exit_code == 1
    out = result.output
    assert "diverged (different_arguments)" in out
    assert "support / tool:lookup_order, call 1 there [tool:lookup_order#1]" in out
    assert '-  "order_id": "A-1001"' in out and '+  "order_id": "A-5"' in out
    assert "nearest recorded calls:" in out
    assert "this replay is trace" not in out  # --no-record: nothing was sent


def test_unknown_trace_and_unreachable_collector_exit_2(recorder):
    result = _run("replay", "0" * 32, "--collector", recorder.url)
    assert result.exit_code == 2
    assert result.output.startswith("Error: trace 00000000000000000000000000000000: not found")
    result = _run("replay", "0" * 32, "--collector", "http://127.0.0.1:1")
    assert result.exit_code == 2 and "cannot reach the collector at http://127.0.0.1:1" in result.output.lower()
    result = _run("replay", "--file", "/nonexistent/trace.json")
    assert result.exit_code == 2 and "cannot read /nonexistent/trace.json" in result.output


def test_export_then_replay_the_file_with_an_override(recorder, agents, tmp_path):
    recorded = recorder.record("support", agents.support, "Wrong colour", "pa@example.com")
    target = tmp_path / "bug-1234.json"
    result = _run("export", recorded.trace_id, "--collector", recorder.url, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert f"tracereel replay --file {target}" in result.output
    agents.reset()
    agents.ARMED.set()
    result = _run("replay", "--file", str(target))
    assert result.exit_code == 0, result.output
    value = tmp_path / "stock.json"
    value.write_text("7")
    result = _run("replay", "--file", str(target), "--override", f"tool:check_inventory#1=@{value}", "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["overridden"] == ["tool:check_inventory#1"]
    assert report["outcome"]["changed"] is True


def test_replay_stub_agent_and_live_options(recorder, agents):
    recorded = recorder.record("supervisor", agents.supervisor, "clean a filter")
    agents.reset()
    agents.ARMED.set()
    result = _run("replay", recorded.trace_id, "--collector", recorder.url, "--stub-agent", "researcher", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["stubbed"] == 1
    assert "researcher" not in agents.AGENT_RUNS
    result = _run("replay", recorded.trace_id, "--collector", recorder.url, "--live", "tool")
    assert result.exit_code == 2 and "expected tool:NAME" in result.output


def test_show_prints_a_tree_with_call_numbers(recorder, agents):
    recorded = recorder.record("supervisor", agents.supervisor, "why is my tea bitter")
    result = _run("show", recorded.trace_id, "--collector", recorder.url)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "invoke_agent supervisor" in out and "invoke_agent researcher" in out
    assert "llm:fake-gpt#1" in out and "llm:fake-gpt#2" in out and "tool:search_kb#1" in out
    assert ("ms" in out and "OK" in out) or "UNSET" in out
    assert '{"question":"why is my tea bitter"}' in out


def test_replay_all_summarises_and_fails_the_gate_when_one_diverged(recorder, agents):
    first = recorder.record("crawler", agents.crawler, ["https://b.example/1"])
    second = recorder.record("crawler", agents.crawler, ["https://b.example/2", "https://b.example/3"])
    agents.reset()
    agents.ARMED.set()
    since = str(first.trace["spans"][0]["start_time_unix_nano"] / 1e9 - 1)
    result = _run("replay", "--all", "--agent", "crawler", "--from", since, "--collector", recorder.url, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["summary"] == {"reproduced": 2, "diverged": 0, "cannot_run": 0}
    statuses = {r["trace_id"]: r["status"] for r in document["reports"]}
    assert statuses == {first.trace_id: "reproduced", second.trace_id: "reproduced"}  # replays are skipped

    # A code change that breaks one of them fails the gate.
    agents.BEHAVIOUR["max_pages"] = 1
    result = _run("replay", "--all", "--agent", "crawler", "--from", since, "--collector", recorder.url)
    assert result.exit_code == 1, result.output
    assert "missing_call" in result.output
    assert "1 reproduced, 1 diverged, 0 could not run" in result.output


def test_replay_of_a_file_records_only_with_record(recorder, agents, tmp_path):
    recorded = recorder.record("support", agents.support, "Scratched lid", "fi@example.com")
    target = tmp_path / "scratched.json"
    assert _run("export", recorded.trace_id, "--collector", recorder.url, "-o", str(target)).exit_code == 0
    client = CollectorClient(recorder.url)

    def replays() -> list[str]:
        rows = client.traces(agent="support", include_replays="true", limit=1000)
        return [r["trace_id"] for r in rows if r.get("replay_of") == recorded.trace_id]

    # TRACEREEL_ENDPOINT names a collector, yet a file replays offline unless --record.
    runner = CliRunner(env={"TRACEREEL_ENDPOINT": recorder.url})
    agents.reset()
    agents.ARMED.set()
    offline = runner.invoke(main, ["replay", "--file", str(target), "--json"], catch_exceptions=False)
    assert offline.exit_code == 0, offline.output
    assert json.loads(offline.output)["replay_trace_id"] is None
    agents.reset()
    agents.ARMED.set()
    sent = runner.invoke(main, ["replay", "--file", str(target), "--record", "--json"], catch_exceptions=False)
    assert sent.exit_code == 0, sent.output
    replay_id = json.loads(sent.output)["replay_trace_id"]
    assert replay_id
    assert wait_until(replays, "the recorded replay to reach the collector") == [replay_id]  # only the --record one


def test_traces_lists_the_newest_and_leaves_replays_out_unless_asked(recorder, agents):
    recorded = recorder.record("support", agents.support, "Late delivery", "tr@example.com")
    agents.reset()
    agents.ARMED.set()
    replayed = _run("replay", recorded.trace_id, "--collector", recorder.url, "--json")
    assert replayed.exit_code == 0, replayed.output
    replay_id = json.loads(replayed.output)["replay_trace_id"]

    def listed(*options: str) -> list[dict[str, object]]:
        result = _run("traces", "--agent", "support", "--since", "1h", "--collector", recorder.url, "--json", *options)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    every = wait_until(
        lambda: [r for r in listed("--include-replays") if r["trace_id"] == replay_id],
        "the replay's trace to be listed",
    )
    assert every[0]["replay_of"] == recorded.trace_id
    own = [r["trace_id"] for r in listed()]
    assert recorded.trace_id in own and replay_id not in own
    assert recorded.trace_id in [r["trace_id"] for r in listed("--status", "ok")]
    assert recorded.trace_id not in [r["trace_id"] for r in listed("--status", "error")]
    assert len(listed("--limit", "1")) == 1

    table = _run("traces", "--agent", "support", "--include-replays", "--collector", recorder.url)
    assert table.exit_code == 0, table.output
    header, *lines = table.output.splitlines()
    assert header.split()[:3] == ["trace", "start", "(UTC)"] and header.split()[-1] == "run"
    original = next(line for line in lines if line.startswith(recorded.trace_id))
    assert " support " in original and " ok " in original
    assert next(line for line in lines if line.startswith(replay_id)).endswith(f"replay of {recorded.trace_id}")


def test_traces_bad_input_and_unreachable_collector_exit_2(recorder):
    result = _run("traces", "--since", "yesterday", "--collector", recorder.url)
    assert result.exit_code == 2 and "--since" in result.output and "not a duration" in result.output
    result = _run("traces", "--collector", "http://127.0.0.1:1")
    assert result.exit_code == 2 and "cannot reach the collector at http://127.0.0.1:1" in result.output.lower()
    assert "Traceback" not in result.output
