"""The judge against an OpenAI-compatible endpoint (the local fake): what it asks, what it reads, how it fails."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tracereel
from tests.evals.judge.judge_support import make_run, tool_span
from tests.fake_openai import FakeOpenAI
from tracereel import semconv as sc
from tracereel.evals.judge import (
    CallableJudge,
    JudgeCache,
    JudgeError,
    JudgePrompt,
    OpenAIJudge,
    Verdict,
    groundedness,
    llm_judge,
    parse_verdict,
)
from tracereel.sdk import hooks


def answer(score: Any, reason: str = "same refund, same amount") -> Callable[[dict[str, Any]], str]:
    return lambda request: json.dumps({"score": score, "reason": reason})


def user_text(request: dict[str, Any]) -> str:
    return request["messages"][-1]["content"]


REFUND = make_run("We refunded you 40 EUR.", "refunded 40 EUR", input={"ticket": "my order B2 never arrived"})


def test_the_request_carries_rubric_input_output_and_expected_and_the_verdict_is_the_score() -> None:
    with FakeOpenAI(answer(0.8), api_key="sk-judge") as llm:
        judge = OpenAIJudge("gpt-test", base_url=llm.base_url, api_key="sk-judge")
        score = llm_judge(REFUND, rubric="Amounts must match to the cent.", judge=judge)
    assert (score.name, score.value, score.passed) == ("llm_judge", 0.8, True)
    assert score.reason == "same refund, same amount" and score.method == "judge:gpt-test"
    [request] = llm.requests
    assert request["model"] == "gpt-test" and request["temperature"] == 0
    assert request["messages"][0]["role"] == "system" and '"score"' in request["messages"][0]["content"]
    text = user_text(request)
    assert "<rubric>\nAmounts must match to the cent.\n</rubric>" in text
    assert "<expected_output>\nrefunded 40 EUR\n</expected_output>" in text
    assert "<actual_output>\nWe refunded you 40 EUR.\n</actual_output>" in text
    assert '"ticket": "my order B2 never arrived"' in text


def test_a_score_below_the_threshold_fails_and_structured_outputs_are_sent_as_json() -> None:
    run = make_run({"refund": 40, "currency": "EUR"}, {"refund": 40, "currency": "USD"})
    with FakeOpenAI(answer(0.6, "wrong currency")) as llm:
        score = llm_judge(run, threshold=0.7, judge=OpenAIJudge("gpt-test", base_url=llm.base_url))
    assert (score.value, score.passed, score.reason) == (0.6, False, "wrong currency")
    assert '{"currency": "EUR", "refund": 40}' in user_text(llm.requests[0])


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("It looks right to me.", "is not a JSON object"),
        ('{"reason": "fine"}', 'has no "score"'),
        ('{"score": 7, "reason": "out of ten"}', "score 7 is outside [0, 1]"),
        ('{"score": true, "reason": "yes"}', "score is true, not a number"),
        ('{"score": "high", "reason": "good"}', "score 'high' is not a number"),
        ({"id": "x", "choices": []}, "has no choices[0].message.content"),
    ],
)
def test_a_malformed_answer_is_a_failed_score_that_says_what_was_wrong(content: str | dict[str, Any], why: str) -> None:
    with FakeOpenAI(lambda request: content) as llm:
        score = llm_judge(REFUND, judge=OpenAIJudge("gpt-test", base_url=llm.base_url))
    assert (score.value, score.passed, score.method) == (0.0, False, "judge-error:gpt-test")
    assert score.reason.startswith("the judge gave no verdict: ") and why in score.reason


def test_answers_models_wrap_around_the_json_are_read() -> None:
    assert parse_verdict('```json\n{"score": 1, "reason": "exact"}\n```') == Verdict(1.0, "exact")
    assert parse_verdict('Here it is: {"score": "0.25", "reason": "partly"} Hope that helps.') == (0.25, "partly")
    assert parse_verdict('{"score": 0}') == (0.0, "")
    with pytest.raises(JudgeError, match="not a JSON object"):
        parse_verdict("[0.5]")


def test_a_wrong_key_is_a_failed_score_naming_the_status_and_the_providers_message() -> None:
    with FakeOpenAI(answer(1.0), api_key="sk-right") as llm:
        score = llm_judge(REFUND, judge=OpenAIJudge("gpt-test", base_url=llm.base_url, api_key="sk-wrong"))
    assert not score.passed and score.method == "judge-error:gpt-test"
    assert f"HTTP 401 from {llm.base_url}/chat/completions: invalid api key" in score.reason
    assert "sk-wrong" not in score.reason


def test_a_server_error_is_a_failed_score_with_its_message() -> None:
    def broken(request: dict[str, Any]) -> str:
        raise RuntimeError("model overloaded")

    with FakeOpenAI(broken) as llm:
        score = groundedness(REFUND, judge=OpenAIJudge("gpt-test", base_url=llm.base_url))
    assert (score.name, score.passed) == ("groundedness", False)
    assert f"HTTP 500 from {llm.base_url}/chat/completions: model overloaded" in score.reason


def test_a_judge_that_does_not_answer_in_time_is_a_failed_score_naming_the_timeout() -> None:
    release = threading.Event()

    def hung(request: dict[str, Any]) -> str:
        release.wait(60)  # held until the judge has given up
        return json.dumps({"score": 1})

    with FakeOpenAI(hung) as llm:
        try:
            score = llm_judge(REFUND, judge=OpenAIJudge("gpt-test", base_url=llm.base_url, timeout=0.2))
        finally:
            release.set()
    assert not score.passed and score.method == "judge-error:gpt-test"
    assert f"no answer from {llm.base_url}/chat/completions within 0.2 s (TRACEREEL_JUDGE_TIMEOUT)" in score.reason


def test_an_endpoint_nobody_listens_on_is_a_failed_score(unused_port: int) -> None:
    score = llm_judge(REFUND, judge=OpenAIJudge("gpt-test", base_url=f"http://127.0.0.1:{unused_port}/v1"))
    assert not score.passed and f"cannot reach http://127.0.0.1:{unused_port}/v1/chat/completions" in score.reason


def test_a_rerun_is_answered_from_the_cache_without_a_request(tmp_path: Path) -> None:
    with FakeOpenAI(answer(0.9, "matches")) as llm:
        first = llm_judge(REFUND, judge=OpenAIJudge("gpt-test", base_url=llm.base_url, cache=JudgeCache(tmp_path)))
        # A new judge over the same directory: what a second `tracereel eval` process sees.
        again = OpenAIJudge("gpt-test", base_url=llm.base_url, cache=JudgeCache(tmp_path))
        second = llm_judge(REFUND, judge=again)
        assert len(llm.requests) == 1
        assert second == first and second.method == "judge:gpt-test"
        # What is asked changed (the output, the rubric, the model): the judge is asked again.
        llm_judge(make_run("We refunded you 30 EUR.", "refunded 40 EUR"), judge=again)
        llm_judge(REFUND, rubric="Be strict.", judge=again)
        llm_judge(REFUND, judge=OpenAIJudge("gpt-other", base_url=llm.base_url, cache=JudgeCache(tmp_path)))
        assert len(llm.requests) == 4
    assert len(JudgeCache(tmp_path)) == 4 and (tmp_path / "verdicts.sqlite3").is_file()


def test_errors_are_not_cached_so_a_fixed_judge_is_asked_again(tmp_path: Path) -> None:
    replies = iter(["not json", json.dumps({"score": 1, "reason": "ok"})])
    with FakeOpenAI(lambda request: next(replies)) as llm:
        judge = OpenAIJudge("gpt-test", base_url=llm.base_url, cache=JudgeCache(tmp_path))
        assert llm_judge(REFUND, judge=judge).method == "judge-error:gpt-test"
        assert llm_judge(REFUND, judge=judge).passed
        assert llm_judge(REFUND, judge=judge).passed
    assert len(llm.requests) == 2


def test_a_judge_call_is_a_chat_span_of_its_own_trace_even_inside_an_agent(spans: Any) -> None:
    with FakeOpenAI(answer(1.0)) as llm:
        judge = OpenAIJudge("gpt-test", base_url=llm.base_url)

        @tracereel.agent(name="scoring")
        def score_it() -> float:
            return float(llm_judge(REFUND, judge=judge).value)

        assert score_it() == 1.0
    assert tracereel.flush(10)
    [chat] = [s for s in spans.get_finished_spans() if s.name == "chat gpt-test"]
    [agent] = [s for s in spans.get_finished_spans() if s.name == "invoke_agent scoring"]
    assert chat.parent is None and chat.context.trace_id != agent.context.trace_id
    assert chat.attributes is not None
    assert chat.attributes[sc.REQUEST_MODEL] == "gpt-test"
    assert "refunded 40 EUR" in str(chat.attributes[sc.INPUT_MESSAGES])
    assert chat.attributes[sc.USAGE_INPUT_TOKENS] == 10 and chat.attributes[sc.USAGE_OUTPUT_TOKENS] == 5


class _Refuse:
    """A replay that serves nothing: any call it intercepts fails."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def intercept(self, call: hooks.BoundaryCall, proceed: Callable[[], Any]) -> Any:
        self.seen.append(call.name)
        raise AssertionError(f"intercepted {call.name}")

    async def intercept_async(self, call: hooks.BoundaryCall, proceed: Callable[[], Any]) -> Any:
        self.seen.append(call.name)
        raise AssertionError(f"intercepted {call.name}")


@pytest.mark.parametrize("context_only", [False, True])
def test_a_replay_in_force_does_not_intercept_the_judge(spans: Any, context_only: bool) -> None:
    replay = _Refuse()
    with FakeOpenAI(answer(0.75)) as llm:
        with hooks.intercepting(replay, context_only=context_only):
            score = llm_judge(REFUND, judge=OpenAIJudge("gpt-test", base_url=llm.base_url))
    assert (score.value, score.method, replay.seen) == (0.75, "judge:gpt-test", [])
    assert len(llm.requests) == 1


def test_groundedness_asks_with_every_tool_result_in_call_order() -> None:
    run = make_run(
        "Your order B2 was lost; I refunded 40 EUR.",
        spans=[
            tool_span("refund", {"amount": 40, "currency": "EUR"}, start=2),
            tool_span("lookup_order", {"order": "B2", "status": "lost"}, start=1),
        ],
        input={"ticket": "my order B2 never arrived"},
    )
    with FakeOpenAI(answer(1.0, "every claim is in the tool results")) as llm:
        score = groundedness(run, judge=OpenAIJudge("gpt-test", base_url=llm.base_url))
        empty = groundedness(make_run("It arrives tomorrow."), judge=OpenAIJudge("gpt-test", base_url=llm.base_url))
    assert score.passed and score.reason == "every claim is in the tool results" and empty.passed
    text = user_text(llm.requests[0])
    assert (
        '<tool_results>\n[1] lookup_order: {"order": "B2", "status": "lost"}\n'
        '[2] refund: {"amount": 40, "currency": "EUR"}\n</tool_results>'
    ) in text
    assert "<expected_output>" not in text and "supported by the tool results" in text
    assert "(no tool returned anything)" in user_text(llm.requests[1])


def test_a_python_callable_judges_and_is_traced(spans: Any) -> None:
    asked: list[JudgePrompt] = []

    def strict(prompt: JudgePrompt) -> tuple[float, str]:
        asked.append(prompt)
        return (1.0, "exact") if prompt.output == prompt.expected else (0.0, "differs")

    judge = CallableJudge(strict, name="strict-equality")
    assert llm_judge(make_run("A", "A"), judge=judge).method == "judge:strict-equality"
    assert not llm_judge(make_run("A", "B"), judge=judge).passed
    assert [p.task for p in asked] == ["llm_judge", "llm_judge"]
    assert tracereel.flush(10)
    assert [s.name for s in spans.get_finished_spans()].count("chat strict-equality") == 2


@pytest.mark.parametrize(
    ("returned", "value", "reason"),
    [
        (Verdict(0.5, "half"), 0.5, "half"),
        ({"score": 0.25, "reason": "a quarter"}, 0.25, "a quarter"),
        (0.75, 0.75, ""),
        ('{"score": 1, "reason": "as JSON text"}', 1.0, "as JSON text"),
    ],
)
def test_a_callable_may_return_any_usual_shape(returned: object, value: float, reason: str) -> None:
    score = llm_judge(make_run("A", "A"), judge=CallableJudge(lambda prompt: returned, name="shape"))
    assert (score.value, score.reason) == (value, reason)


def test_a_callable_that_raises_or_answers_nonsense_is_a_failed_score() -> None:
    def crash(prompt: JudgePrompt) -> float:
        raise ConnectionError("provider down")

    raised = llm_judge(make_run("A", "A"), judge=CallableJudge(crash))
    assert (
        raised.method == "judge-error:test_a_callable_that_raises_or_answers_nonsense_is_a_failed_score.<locals>.crash"
    )
    assert raised.reason.endswith("raised ConnectionError: provider down")
    nonsense = llm_judge(make_run("A", "A"), judge=CallableJudge(lambda prompt: 3, name="bad"))
    assert (nonsense.passed, nonsense.reason) == (
        False,
        "the judge gave no verdict: the judge's score 3 is outside [0, 1]",
    )


def test_a_callable_can_be_cached_too(tmp_path: Path) -> None:
    calls: list[str] = []

    def counting(prompt: JudgePrompt) -> float:
        calls.append(str(prompt.output))
        return 1.0

    for _ in range(2):
        llm_judge(make_run("A", "A"), judge=CallableJudge(counting, name="counting", cache=JudgeCache(tmp_path)))
    assert calls == ["A"]
