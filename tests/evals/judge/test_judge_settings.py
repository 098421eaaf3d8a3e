"""The judge from settings: argument > TRACEREEL_JUDGE_* > the OpenAI client's variables > default."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.evals.judge.judge_support import make_run
from tests.fake_openai import FakeOpenAI
from tracereel.evals.judge import JudgeCache, OpenAIJudge, groundedness, judge_from_settings, llm_judge
from tracereel.sdk.settings import SETTINGS, ConfigError

ANSWER = json.dumps({"score": 1, "reason": "same answer"})


def test_no_model_means_no_judge_and_the_scorers_fall_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings of an unused judge are not even read: a stray variable cannot break the run.
    monkeypatch.setenv("OPENAI_BASE_URL", "not a url")
    monkeypatch.setenv("TRACEREEL_JUDGE_TIMEOUT", "soon")
    assert judge_from_settings() is None
    assert llm_judge(make_run("a", "a")).method == "fallback:token-overlap"
    assert groundedness(make_run("a")).method == "fallback:support-overlap"


def test_a_configured_judge_is_used_by_the_scorers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with FakeOpenAI(lambda request: ANSWER, api_key="sk-judge") as llm:
        monkeypatch.setenv("TRACEREEL_JUDGE_MODEL", "gpt-test")
        monkeypatch.setenv("TRACEREEL_JUDGE_URL", llm.base_url)
        monkeypatch.setenv("TRACEREEL_JUDGE_API_KEY", "sk-judge")
        monkeypatch.setenv("TRACEREEL_JUDGE_TIMEOUT", "7.5")
        monkeypatch.setenv("TRACEREEL_JUDGE_CACHE", str(tmp_path / "verdicts"))
        judge = judge_from_settings()
        assert isinstance(judge, OpenAIJudge)
        assert (judge.model, judge.base_url, judge.timeout) == ("gpt-test", llm.base_url, 7.5)
        assert judge.cache is not None and judge.cache.directory == tmp_path / "verdicts"
        score = llm_judge(make_run("refunded 40 EUR", "refunded 40 EUR"))
        assert (score.passed, score.method, score.reason) == (True, "judge:gpt-test", "same answer")
        assert llm_judge(make_run("refunded 40 EUR", "refunded 40 EUR")) == score
    assert len(llm.requests) == 1  # the second run was answered from TRACEREEL_JUDGE_CACHE
    assert "sk-judge" not in repr(judge)


def test_arguments_beat_variables_which_beat_the_openai_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACEREEL_JUDGE_MODEL", "from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://openai-proxy:8080/v1")
    judge = judge_from_settings()
    assert judge is not None and judge.base_url == "http://openai-proxy:8080/v1"
    monkeypatch.setenv("TRACEREEL_JUDGE_URL", "http://judge:8000/v1/")
    judge = judge_from_settings()
    assert judge is not None and (judge.model, judge.base_url) == ("from-env", "http://judge:8000/v1")
    judge = judge_from_settings(model="from-arg", base_url="http://arg:1/v1")
    assert judge is not None and (judge.model, judge.base_url) == ("from-arg", "http://arg:1/v1")
    monkeypatch.delenv("TRACEREEL_JUDGE_URL")
    monkeypatch.delenv("OPENAI_BASE_URL")
    judge = judge_from_settings()
    assert judge is not None and judge.url == "https://api.openai.com/v1/chat/completions"
    assert SETTINGS["judge_api_key"].secret


def test_the_openai_key_goes_only_where_the_openai_client_would_send_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACEREEL_JUDGE_MODEL", "gpt-test")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    with FakeOpenAI(lambda request: ANSWER, api_key="sk-openai") as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)
        assert llm_judge(make_run("a", "a"), judge=judge_from_settings(cache=False)).passed
        # A URL of the judge's own: OPENAI_API_KEY is not sent to it; TRACEREEL_JUDGE_API_KEY is.
        monkeypatch.setenv("TRACEREEL_JUDGE_URL", llm.base_url)
        refused = llm_judge(make_run("a", "a"), judge=judge_from_settings(cache=False))
        assert not refused.passed and "HTTP 401" in refused.reason
        monkeypatch.setenv("TRACEREEL_JUDGE_API_KEY", "sk-openai")
        assert llm_judge(make_run("a", "a"), judge=judge_from_settings(cache=False)).passed


def test_the_cache_defaults_to_the_users_cache_directory_and_can_be_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRACEREEL_JUDGE_MODEL", "gpt-test")
    judge = judge_from_settings()
    assert judge is not None and judge.cache is not None
    assert judge.cache.directory == tmp_path / "xdg-cache" / "tracereel" / "judge"
    for off in ("off", "0", "false"):
        monkeypatch.setenv("TRACEREEL_JUDGE_CACHE", off)
        judge = judge_from_settings()
        assert judge is not None and judge.cache is None
    with FakeOpenAI(lambda request: ANSWER) as llm:
        uncached = judge_from_settings(base_url=llm.base_url)
        llm_judge(make_run("a", "a"), judge=uncached)
        llm_judge(make_run("a", "a"), judge=uncached)
    assert len(llm.requests) == 2
    assert JudgeCache.from_settings(str(tmp_path / "mine")) is not None


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "TRACEREEL_JUDGE_URL",
            "api.openai.com/v1",
            "TRACEREEL_JUDGE_URL='api.openai.com/v1' is not valid: expected the http(s):// base URL",
        ),
        (
            "OPENAI_BASE_URL",
            "localhost:11434",
            "OPENAI_BASE_URL='localhost:11434' is not valid: expected an http(s)://",
        ),
        (
            "TRACEREEL_JUDGE_TIMEOUT",
            "0",
            "TRACEREEL_JUDGE_TIMEOUT='0' is not valid: expected a positive number of seconds",
        ),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv("TRACEREEL_JUDGE_MODEL", "gpt-test")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=re.escape(message)):
        judge_from_settings()
    # A configuration error stops the run (no case can be judged), it is not a failed score.
    with pytest.raises(ConfigError):
        llm_judge(make_run("a", "a"))
