"""Rebuilding recorded values and exceptions, parsing what-if options, repeated identical calls."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from tracereel.replay import CannotReplay, parse_live, parse_override, replay
from tracereel.replay._values import call_arguments, rebuild, rebuild_exception


@dataclass
class Point:
    x: int
    y: int


@dataclass
class Segment:
    start: Point
    end: Point
    label: str = ""


class NeedsTwoArgs(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"{code}: {detail}")


def test_rebuild_dataclasses_tuples_and_optionals():
    seg = rebuild({"start": {"x": 1, "y": 2}, "end": {"x": 3, "y": 4}, "label": "a"}, Segment)
    assert seg == Segment(Point(1, 2), Point(3, 4), "a")
    assert rebuild([1, 2], tuple[int, int]) == (1, 2)
    assert rebuild([{"x": 0, "y": 0}], list[Point]) == [Point(0, 0)]
    assert rebuild({"x": 5, "y": 6}, Point | None) == Point(5, 6)
    assert rebuild({"__tracereel_repr__": "<obj>", "__type__": "m.C"}, Point) == {
        "__tracereel_repr__": "<obj>",
        "__type__": "m.C",
    }


def test_rebuild_pydantic_models():
    from pydantic import BaseModel

    class Reply(BaseModel):
        text: str
        tokens: int

    assert rebuild({"text": "hi", "tokens": 3}, Reply) == Reply(text="hi", tokens=3)


def test_rebuild_exceptions():
    timeout = rebuild_exception("TimeoutError", "took too long")
    assert type(timeout) is TimeoutError and str(timeout) == "took too long"
    key = rebuild_exception("KeyError", "'user_id'")
    assert type(key) is KeyError and str(key) == "'user_id'"
    decoded = rebuild_exception("json.decoder.JSONDecodeError", "Expecting value: line 1 column 1 (char 0)")
    assert isinstance(decoded, json.JSONDecodeError)
    custom = rebuild_exception(f"{__name__}.NeedsTwoArgs", "7: nope")
    assert type(custom) is NeedsTwoArgs and str(custom) == "7: nope"
    unknown = rebuild_exception("somewhere.gone.VanishedError", "boom")
    assert type(unknown).__name__ == "VanishedError" and isinstance(unknown, Exception) and str(unknown) == "boom"


def test_call_arguments_follow_the_signature():
    def f(a: Point, /, b: int, *rest: int, c: str = "x", **more: int) -> None: ...

    args, kwargs = call_arguments(
        f, json.dumps({"a": {"x": 1, "y": 1}, "b": 2, "rest": [3, 4], "c": "y", "more": {"d": 5}})
    )
    assert args == [Point(1, 1), 3, 4] and kwargs == {"b": 2, "c": "y", "d": 5}


def test_override_and_live_parsing(tmp_path):
    assert parse_override("tool:search#2=[1, 2]") == (("tool", "search", 2), [1, 2])
    assert parse_override("llm:gpt-4o:mini=plain text") == (("llm", "gpt-4o:mini", None), "plain text")
    path = tmp_path / "v.json"
    path.write_text('{"ok": true}')
    assert parse_override(f"tool:x#1=@{path}") == (("tool", "x", 1), {"ok": True})
    for bad, message in [
        ("tool:x", "expected KIND:NAME"),
        ("thing:x=1", "expected tool:NAME"),
        ("tool:x#0=1", "start at 1"),
        ("agent:x=1", "only tool and llm"),
        (f"tool:x=@{tmp_path / 'missing.json'}", "cannot read"),
    ]:
        with pytest.raises(CannotReplay, match=message):
            parse_override(bad)
    assert parse_live(["tool:send", "llm:gpt"]) == {("tool", "send"), ("llm", "gpt")}
    with pytest.raises(CannotReplay, match="drop #1"):
        parse_live(["tool:send#1"])


def test_repeated_identical_calls_are_served_in_recorded_order(recorder, agents):
    recorded = recorder.record("poller", agents.poller, "job-9")
    assert recorded.result == ["pending", "pending", "done"]
    agents.reset()  # a real run now would see "pending" three times... if the bodies ran
    agents.ARMED.set()
    report = replay(recorded.trace)
    assert report.reproduced, report.to_json()
    assert report.outcome["replayed"]["output"] == ["pending", "pending", "done"]
    assert report.served == 3
