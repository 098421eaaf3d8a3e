"""Recording clocks, random and uuids during normal runs: only agent code, only during a task, nothing left behind."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import uuid
from datetime import datetime as real_datetime

import tracereel
from tracereel import semconv as sc
from tracereel.replay import Tape


@tracereel.tool
def roll() -> float:
    return random.random()  # drawn inside a tool body: served as the tool's result, never recorded


@tracereel.agent(name="dice")
def dice() -> dict:
    from datetime import datetime

    first = random.random()
    picked = random.choice(["a", "b", "c"])
    rolled = roll()
    stamp = time.time()
    ident = uuid.uuid4()
    return {
        "first": first,
        "picked": picked,
        "rolled": rolled,
        "stamp": stamp,
        "id": str(ident),
        "now_is_datetime": isinstance(datetime.now(), real_datetime),
        "built": type(real_datetime(2020, 1, 1)).__name__,
    }


def _chunks(exported) -> list[list]:
    chunks = []
    for span in exported:
        raw = (span.attributes or {}).get(sc.NONDETERMINISM)
        if raw:
            chunks.append(json.loads(raw))
    return [v for c in sorted(chunks, key=lambda c: c["seq"]) for v in c["values"]]


def test_agent_code_values_are_recorded_in_order_and_tool_bodies_are_not(spans):
    before = (time.time, uuid.uuid4, random.random)
    result = dice()
    tracereel.flush()
    values = _chunks(spans.get_finished_spans())
    kinds = [kind for kind, _ in values]
    assert kinds[0] == "random" and kinds[1].startswith("bits")  # random(), then choice() via getrandbits
    assert ["time", "uuid4"] == kinds[-2:]
    assert values[0][1] == result["first"] and values[-1][1] == uuid.UUID(result["id"]).hex
    assert result["rolled"] not in [v for _, v in values]  # the tool's draw is not in the recording
    assert result["now_is_datetime"] is True and result["built"] == "datetime"
    # After the task nothing stays patched.
    assert (time.time, uuid.uuid4, random.random) == before
    assert "random" not in vars(random._inst)  # type: ignore[attr-defined]


def test_values_drawn_before_a_call_travel_on_that_call_so_a_crash_keeps_them(spans):
    dice()
    tracereel.flush()
    by_name = {s.name: s for s in spans.get_finished_spans()}
    on_tool = json.loads(by_name["execute_tool roll"].attributes[sc.NONDETERMINISM])
    assert on_tool["seq"] == 0 and len(on_tool["values"]) >= 2
    on_root = json.loads(by_name["invoke_agent dice"].attributes[sc.NONDETERMINISM])
    assert on_root["seq"] == 1
    marker = by_name["task_start dice"]
    assert marker.attributes[sc.TASK_START] is True
    assert marker.attributes[sc.ENTRYPOINT].endswith(":dice")


def test_recording_can_be_switched_off():
    code = (
        "import json, random, tracereel\n"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter\n"
        "e = InMemorySpanExporter(); tracereel.configure(exporter=e)\n"
        "f = tracereel.agent(name='a')(lambda: random.random())\n"
        "f(); tracereel.flush()\n"
        "print(json.dumps([dict(s.attributes) for s in e.get_finished_spans()]))\n"
    )
    env = {"TRACEREEL_RECORD_NONDETERMINISM": "0", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert not any(sc.NONDETERMINISM in attrs for attrs in json.loads(out.stdout))


def test_tape_concatenates_chunks_by_sequence():
    def span(span_id, parent, seq, values, start):
        attrs = {
            sc.OPERATION_NAME: sc.OP_EXECUTE_TOOL,
            sc.TOOL_NAME: "t",
            sc.ARGS_HASH: "0" * 16,
            sc.TOOL_CALL_ARGUMENTS: "{}",
            sc.TOOL_CALL_RESULT: "1",
            sc.NONDETERMINISM: json.dumps({"seq": seq, "values": values}),
        }
        return {"span_id": span_id, "parent_span_id": parent, "start_time_unix_nano": start, "attributes": attrs}

    root = {
        "span_id": "r",
        "parent_span_id": "",
        "start_time_unix_nano": 0,
        "duration_ns": 10,
        "attributes": {
            sc.OPERATION_NAME: sc.OP_INVOKE_AGENT,
            sc.AGENT_NAME: "x",
            sc.ENTRYPOINT: "m:x",
            sc.AGENT_INPUT: "{}",
            sc.AGENT_OUTPUT: "1",
        },
    }
    tape = Tape(
        {"trace_id": "t", "spans": [root, span("b", "r", 1, [["time", 2.0]], 5), span("a", "r", 0, [["time", 1.0]], 1)]}
    )
    assert tape.nondeterminism == [["time", 1.0], ["time", 2.0]]
