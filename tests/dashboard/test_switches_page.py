"""The Kill switches page under AppTest, over a real collector: list, kill from the form, revive, refusals."""

from __future__ import annotations

from typing import Any

from test_evals_page import _texts

from tests.conftest import start_collector
from tracereel.client import CollectorClient


def _open(at: Any) -> Any:
    at.run()
    at.switch_page("views/switches.py").run()
    assert not at.exception, at.exception
    return at


def test_kill_from_the_form_then_revive(collector, app_for):
    api = CollectorClient(collector.url)
    at = _open(app_for(collector.url))
    assert at.title[0].value == "Kill switches"
    assert "No agent is killed" in _texts(at)

    at.text_input(key="kill_agent").input("refunds")
    at.text_input(key="kill_version").input("2.0")
    at.text_input(key="kill_reason").input("double charges")
    next(b for b in at.button if b.label == "Kill").click().run()
    assert not at.exception, at.exception
    assert "Killed refunds@2.0: double charges" in _texts(at)
    assert [(s.agent, s.version, s.reason) for s in api.switches().switches] == [("refunds", "2.0", "double charges")]
    table = at.dataframe[0].value
    assert list(table["agent"]) == ["refunds"] and list(table["service"]) == ["every"]
    assert list(table["by key"]) == ["the collector's key"]

    assert at.selectbox(key="revive_switch").value == "refunds@2.0"
    at.button(key="revive_button").click().run()
    assert "Revived refunds@2.0" in _texts(at)
    assert api.switches().switches == []


def test_a_kill_without_a_reason_is_refused_on_the_page(collector, app_for):
    at = _open(app_for(collector.url))
    at.text_input(key="kill_agent").input("refunds")
    next(b for b in at.button if b.label == "Kill").click().run()
    assert "Name the agent and give a reason." in _texts(at)
    assert CollectorClient(collector.url).switches().switches == []


def test_a_wrong_key_is_one_message(store, app_for, monkeypatch):
    keyed, _ = start_collector(store, api_key="s3cret")
    try:
        monkeypatch.setenv("TRACEREEL_API_KEY", "wrong")
        at = _open(app_for(keyed.url))
        # The dashboard's one sign-in message, never a traceback.
        text = _texts(at)
        assert text.count("TRACEREEL_API_KEY was refused (wrong or revoked)") == 1
        assert "Traceback" not in text
    finally:
        keyed.stop()
