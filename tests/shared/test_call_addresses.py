"""The call address ``kind:name#N``: replay (what --override matches) and ``tracereel show`` number calls alike."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from tracereel import semconv as sc
from tracereel.cli.show import trace_tree
from tracereel.replay import Tape
from tracereel.rules import call_addresses
from tracereel.traces import Trace

MS = 1_000_000


def _span(span_id: str, parent: str, start_ms: int, end_ms: int, attributes: dict[str, Any], name: str) -> Any:
    return {
        "span_id": span_id,
        "parent_span_id": parent,
        "name": name,
        "start_time_unix_nano": start_ms * MS,
        "duration_ns": (end_ms - start_ms) * MS,
        "status_code": "OK",
        "attributes": attributes,
        "events": [],
    }


def _agent(span_id: str, parent: str, start: int, end: int, name: str) -> Any:
    attrs = {
        sc.OPERATION_NAME: "invoke_agent",
        sc.AGENT_NAME: name,
        sc.AGENT_INPUT: '{"q": 1}',
        sc.AGENT_OUTPUT: '"ok"',
        sc.ENTRYPOINT: "app:run",
    }
    return _span(span_id, parent, start, end, attrs, f"invoke_agent {name}")


def _tool(span_id: str, parent: str, start: int, name: str) -> Any:
    attrs = {
        sc.OPERATION_NAME: "execute_tool",
        sc.TOOL_NAME: name,
        sc.ARGS_HASH: f"h{span_id}",
        sc.TOOL_CALL_ARGUMENTS: "{}",
        sc.TOOL_CALL_RESULT: '"r"',
    }
    return _span(span_id, parent, start, start + 5, attrs, f"execute_tool {name}")


def _chat(span_id: str, parent: str, start: int) -> Any:
    attrs = {
        sc.OPERATION_NAME: "chat",
        sc.REQUEST_MODEL: "gpt-4o",
        sc.ARGS_HASH: f"h{span_id}",
        sc.INPUT_MESSAGES: "[]",
        sc.OUTPUT_MESSAGES: "[]",
    }
    return _span(span_id, parent, start, start + 5, attrs, "chat gpt-4o")


# The root's sub-agent runs alongside it: its lookup (at 40 ms) starts after the root's own (at 30 ms).
# Depth first, the sub-agent's calls come first, so the root's lookup is the second.
SPANS = [
    _agent("a", "", 0, 200, "support"),
    _agent("b", "a", 10, 100, "billing"),
    _span("h", "b", 12, 90, {"http.method": "GET"}, "GET /internal"),  # looked through
    _tool("t2", "h", 40, "lookup"),
    _chat("c1", "b", 50),
    _tool("t1", "a", 30, "lookup"),
    _chat("c2", "a", 120),
    _tool("x", "", 5, "lookup"),  # outside the task: a thread without its context
    _span("o", "a", 20, 21, {sc.OPERATION_NAME: "execute_tool", sc.TOOL_NAME: "lookup"}, "execute_tool lookup"),
]
EXPECTED = {
    "b": "agent:billing#1",
    "t2": "tool:lookup#1",
    "c1": "llm:gpt-4o#1",
    "t1": "tool:lookup#2",
    "c2": "llm:gpt-4o#2",
}


def test_the_rule_numbers_depth_first_and_skips_what_replay_cannot_serve() -> None:
    assert call_addresses(SPANS) == EXPECTED


def test_replay_and_show_use_the_same_addresses() -> None:
    trace: Trace = {"trace_id": "f" * 32, "spans": SPANS}
    tape = Tape(dict(trace))
    assert {call.span_id: call.label for call in tape.calls[1:]} == EXPECTED
    out = io.StringIO()
    Console(file=out, width=300, color_system=None).print(trace_tree(trace))
    text = out.getvalue()
    for address in EXPECTED.values():
        assert text.count(address) == 1, address
    lines = text.splitlines()
    (root_lookup,) = [line for line in lines if "tool:lookup#2" in line]
    (child_lookup,) = [line for line in lines if "tool:lookup#1" in line]
    # The root's own lookup sits one level above the sub-agent's (which is under the HTTP span too).
    assert len(root_lookup) - len(root_lookup.lstrip("│ ├└─")) < len(child_lookup) - len(child_lookup.lstrip("│ ├└─"))


def test_a_run_whose_root_never_arrived_numbers_the_calls_under_its_marker() -> None:
    attributes = {sc.TASK_START: True, sc.AGENT_NAME: "support", sc.AGENT_INPUT: '{"q": 1}', sc.ENTRYPOINT: "app:run"}
    marker = _span("m", "a", 0, 0, attributes, "task_start support")
    spans = [marker, *(s for s in SPANS if s["span_id"] != "a")]
    assert call_addresses(spans) == EXPECTED
    tape = Tape({"trace_id": "f" * 32, "spans": spans})
    assert tape.truncated
    assert {call.span_id: call.label for call in tape.calls[1:]} == EXPECTED
