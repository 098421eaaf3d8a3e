"""``tracereel monitor add|list|remove|history`` against a real collector; mistakes are one line and a non-zero exit."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner, Result

from tests.conftest import start_collector
from tests.monitor_support import receiver, send_tasks
from tests.support import wait_until
from tracereel.cli import main

HOOK = "https://hooks.slack.com/services/T0/B0/s3cr3t-token"


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, ["monitor", *args], catch_exceptions=False)


def _add(url: str, *args: str) -> Result:
    return _run("add", "slow", "--metric", "p95_latency_ms", "--collector", url, *args)


def test_add_list_history_and_remove(collector):
    added = _add(collector.url, "--above", "2000", "--window", "30m", "--agent", "support", "--notify", HOOK)
    assert added.exit_code == 0, added.output
    assert added.output == (
        "added monitor slow: fires when p95_latency_ms above 2000 ms over the last 30m; "
        "notifies https://hooks.slack.com/… (slack)\n"
    )
    listed = _run("list", "--collector", collector.url)
    assert listed.exit_code == 0
    assert (
        "slow" in listed.output and "p95_latency_ms above 2000 ms" in listed.output and "agent=support" in listed.output
    )
    assert "s3cr3t" not in listed.output
    as_json = json.loads(_run("list", "--json", "--collector", collector.url).output)
    assert [(m["name"], m["format"], m["window_seconds"]) for m in as_json] == [("slow", "slack", 1800)]

    history = _run("history", "slow", "--json", "--collector", collector.url)
    assert history.exit_code == 0 and isinstance(json.loads(history.output), list)

    removed = _run("remove", "slow", "--collector", collector.url)
    assert (removed.exit_code, removed.output) == (0, "removed monitor slow\n")
    assert _run("list", "--collector", collector.url).output.startswith("no monitors;")


def test_mistakes_are_one_line_and_change_nothing(collector):
    cases: list[tuple[list[str], int, str]] = [
        (
            ["--metric", "latency", "--above", "1", "--notify", HOOK],
            1,
            "Error: unknown metric 'latency'; expected one of",
        ),
        (["--above", "1", "--below", "2", "--notify", HOOK], 1, "Error: give exactly one of --above X or --below X"),
        (["--above", "1"], 2, "Missing option '--notify'"),
        (["--above", "1", "--window", "soon", "--notify", HOOK], 1, "Error: --window: window 'soon' is not a duration"),
    ]
    for extra, code, message in cases:
        args = ["add", "slow", "--collector", collector.url]
        if "--metric" not in extra:
            args += ["--metric", "p95_latency_ms"]
        result = _run(*args, *extra)
        assert result.exit_code == code, result.output
        assert message in result.output, result.output
    unknown = _run("add", "slow", "--metric", "nope", "--below", "1", "--notify", HOOK, "--collector", collector.url)
    assert "task_success_rate" in unknown.output and "eval.pass_rate, eval.score.<scorer>" in unknown.output
    # A routing key on a slack URL: the definition's own model refuses it before anything is sent
    # (the collector checks the same model), exit 1.
    refused = _add(collector.url, "--above", "1", "--notify", HOOK, "--routing-key", "abcdef0123456789")
    assert refused.exit_code == 1
    assert refused.output == "Error: routing_key: only the pagerduty format takes one, not slack\n"
    assert "abcdef0123456789" not in refused.output
    assert _run("list", "--collector", collector.url).output.startswith("no monitors;")

    assert _add(collector.url, "--above", "1", "--notify", HOOK).exit_code == 0
    again = _add(collector.url, "--above", "5", "--notify", HOOK)
    assert again.exit_code == 2 and "a monitor named slow already exists" in again.output
    missing = _run("remove", "nothing", "--collector", collector.url)
    assert (missing.exit_code, missing.output) == (2, "Error: no monitor named nothing\n")
    assert _run("history", "nothing", "--collector", collector.url).exit_code == 2


def test_history_shows_states_and_deliveries(store: Any):
    with receiver() as hooks:
        running, _ = start_collector(store, monitor_interval=0.1, monitor_backoff=0.05)
        try:
            hooks.answer(500)
            added = _run(
                "add",
                "success",
                "--metric",
                "task_success_rate",
                "--below",
                "0.5",
                "--notify",
                hooks.url(),
                "--collector",
                running.url,
            )
            assert added.exit_code == 0, added.output
            send_tasks(running.url, 2, success=False)
            wait_until(lambda: hooks.count() == 2, "a failed attempt and its retry")
            shown = wait_until(
                lambda: (out := _run("history", "success", "--collector", running.url).output).count("\n") >= 3 and out,
                "the history to hold the change of state and both attempts",
            )
        finally:
            running.stop()
    lines = shown.splitlines()
    assert lines[0].endswith("delivery trigger attempt 2 delivered HTTP 202")
    assert lines[1].endswith('delivery trigger attempt 1 retrying HTTP 500: {"status": "error"}')
    assert lines[2].endswith("state    firing (value 0.0, 2 tasks)")
