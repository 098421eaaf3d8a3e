"""Integration fixtures: one real collector per module, the SDK exporting to it, and fake providers
that answer like the real APIs (tool calls first when tools are offered, then text)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import tracereel
from tests.fake_anthropic import FakeAnthropic
from tests.fake_openai import FakeOpenAI
from tests.support import collector_over

sys.path.insert(0, str(Path(__file__).parent))  # the apps under test import by name, like user code

from integration_support import Recorder, anthropic_answer, openai_answer


@pytest.fixture(scope="module")
def module_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A collector on 127.0.0.1 over a fresh store, shared by one test module."""
    with collector_over(tmp_path_factory.mktemp("integrations-store")) as (url, _app):
        yield url


@pytest.fixture
def recorder(module_collector: str) -> Iterator[Recorder]:
    """The SDK exporting to the module's collector."""
    tracereel.configure(service_name="integration-tests", endpoint=module_collector, schedule_delay_millis=50)
    yield Recorder(module_collector)
    tracereel.shutdown()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fake OpenAI provider answering with a tool call, then text."""
    with FakeOpenAI(openai_answer) as fake:
        yield fake


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """A fake Anthropic provider answering with a tool use, then text."""
    with FakeAnthropic(anthropic_answer) as fake:
        yield fake
