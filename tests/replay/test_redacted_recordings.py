"""Recordings the collector redacted: the markers match any value, and the report names the fields."""

from __future__ import annotations

import io

from rich.console import Console

from tracereel.replay._report import Divergence, ReplayReport, matches_redacted, redacted_fields
from tracereel.replay.render import render_report


def test_redacted_fields_are_named_by_path():
    recorded = '{"to": "<redacted:email>", "items": [{"card": "x <redacted:card>"}], "n": 1}'
    assert redacted_fields(recorded) == ["to", "items[0].card"]
    assert redacted_fields('{"to": "ann"}') == []
    assert redacted_fields("call <redacted:phone>") == ["$"]


def test_a_marker_matches_any_value_and_the_rest_must_be_equal():
    recorded = '{"to": "<redacted:email>", "subject": "re: order A-1001 from <redacted:email>"}'
    assert matches_redacted(recorded, '{"to": "ann@example.com", "subject": "re: order A-1001 from bo@x.io"}')
    assert not matches_redacted(recorded, '{"to": "ann@example.com", "subject": "re: order A-1002 from bo@x.io"}')
    assert not matches_redacted(recorded, '{"to": "ann@example.com"}')
    assert not matches_redacted('{"to": "ann"}', '{"to": "ann"}')  # nothing redacted: the hash decides


def test_the_report_names_the_redacted_fields():
    divergence = Divergence(
        kind="different_arguments",
        message="tool 'send_email' was called with arguments the recording does not have here",
        address={"agent_path": ["support"], "kind": "tool", "name": "send_email", "ordinal": 1, "label": "x"},
        expected='{\n  "to": "<redacted:email>"\n}',
        actual='{\n  "to": "<redacted:email>"\n}',
    )
    assert divergence.redacted == ["to"]
    out = io.StringIO()
    render_report(ReplayReport("t" * 32, "diverged", divergence=divergence), Console(file=out, width=200))
    assert "the recording has redacted values at to (replaced by the collector before storage)" in out.getvalue()
