"""Without a judge, llm_judge and groundedness score by named deterministic methods, and say so."""

from __future__ import annotations

import pytest

from tests.evals.judge.judge_support import make_run, tool_span
from tracereel.evals.judge import groundedness, llm_judge, tool_evidence
from tracereel.evals.judge.fallback import content_tokens, support_overlap, token_overlap

LOOKUP = tool_span("lookup_order", {"order": "B2", "status": "lost", "paid": "40.00", "currency": "EUR"}, start=1)
TICKET = {"ticket": "my order B2 never arrived"}


def test_token_overlap_passes_the_same_answer_in_other_words() -> None:
    score = llm_judge(make_run("I have refunded the 40 EUR to your card.", "refunded 40 EUR"))
    assert (score.name, score.value, score.passed) == ("llm_judge", 1.0, True)
    assert score.method == "fallback:token-overlap"
    assert score.reason == "3 of 3 content words of the expected answer are in the output"


@pytest.mark.parametrize(
    ("output", "expected", "value", "reason"),
    [
        ("refunded 50 EUR", "refunded 40 EUR", 0.0, "numbers of the expected answer missing from the output: 40"),
        ("the refund is not approved", "refund approved", 0.0, "a negation appears only in the output"),
        ("the refund was approved", "refund wasn't approved", 0.0, "a negation appears only in the expected answer"),
        ("we refunded you", "refunded 40 EUR", 0.0, "numbers of the expected answer missing from the output: 40"),
        ("escalated to a human", "refund sent by bank transfer", 0.0, "0 of 4 content words"),
        ("refund sent", "refund sent by bank transfer", 0.5, "2 of 4 content words"),
    ],
)
def test_token_overlap_fails_a_wrong_amount_a_negation_and_a_different_answer(
    output: str, expected: str, value: float, reason: str
) -> None:
    score = llm_judge(make_run(output, expected), threshold=0.6)
    assert score.value == value and not score.passed and score.reason.startswith(reason)


def test_numbers_are_compared_by_value_and_words_by_stem() -> None:
    assert content_tokens("Refunds of 1,000 and 40.00 EUR were refunded") == [
        "refund",
        "#1000",
        "#40",
        "eur",
        "refund",
    ]
    assert token_overlap("40 eur refund", "Refunded 40.00 EUR")[0] == 1.0


def test_token_overlap_names_the_rubric_it_could_not_apply_and_needs_an_expected_answer() -> None:
    ruled = llm_judge(make_run("refunded 40 EUR", "refunded 40 EUR"), rubric="Be polite.")
    assert (
        ruled.passed and "the rubric was not applied: no judge is configured (set TRACEREEL_JUDGE_MODEL" in ruled.reason
    )
    nothing = llm_judge(make_run("refunded 40 EUR"))
    assert (nothing.passed, nothing.method) == (False, "fallback:token-overlap")
    assert nothing.reason.startswith("the case has no expected output to compare with, and no judge is configured")
    assert llm_judge(make_run("Yes", "yes")).passed and not llm_judge(make_run("no", "yes")).passed


def test_structured_outputs_are_compared_as_json() -> None:
    assert llm_judge(make_run({"amount": 40, "currency": "EUR"}, {"currency": "EUR", "amount": 40})).value == 1.0
    assert llm_judge(make_run({"amount": 30, "currency": "EUR"}, {"currency": "EUR", "amount": 40})).value == 0.0


def test_a_run_that_failed_has_nothing_to_judge() -> None:
    for scorer in (llm_judge, groundedness):
        score = scorer(make_run(None, "refunded 40 EUR", error="TimeoutError: lookup_order"))
        assert not score.passed and score.reason == "no output to judge: the run failed (TimeoutError: lookup_order)"
        assert score.method.startswith("fallback:")


def test_support_overlap_passes_an_answer_made_of_what_the_tools_returned() -> None:
    score = groundedness(make_run("Your order B2 was lost; we paid 40 EUR back.", input=TICKET, spans=[LOOKUP]))
    assert (score.name, score.method) == ("groundedness", "fallback:support-overlap")
    # "back" is the one word that is in neither the tool result nor the ticket.
    assert score.passed and score.reason == (
        "6 of 7 content words of the output appear in the tool results or the input; not found: back"
    )


def test_support_overlap_fails_an_invented_number_and_an_invented_story() -> None:
    invented = groundedness(make_run("Your order B2 arrives in 3 days.", input=TICKET, spans=[LOOKUP]))
    assert invented.value == 0.0 and not invented.passed
    assert invented.reason == "numbers in the output that no tool returned and the input does not contain: 3"
    story = groundedness(
        make_run("The courier delivered it to your neighbour yesterday.", input=TICKET, spans=[LOOKUP])
    )
    assert not story.passed and story.value < 0.5 and "not found: courier, deliver" in story.reason


def test_a_hallucination_trap_is_passed_by_saying_nothing_was_found() -> None:
    empty = [tool_span("search_orders", {"results": []}, start=1)]
    honest = groundedness(make_run("Sorry, I could not find that order.", input=TICKET, spans=empty))
    assert honest.passed and honest.value == 1.0
    assert groundedness(make_run("I couldn't find order B2, sorry!", input=TICKET, spans=empty)).value == 1.0
    invented = groundedness(make_run("Order B2 was shipped on May 3 by DHL.", input=TICKET, spans=empty))
    assert not invented.passed
    bare = groundedness(make_run("It was shipped by DHL.", input=TICKET))
    assert not bare.passed and bare.reason.endswith("(no tool returned anything)")


def test_tool_evidence_is_every_tool_result_in_call_order_and_skips_other_spans() -> None:
    llm_span = tool_span("ignored", "x", start=0)
    llm_span["attributes"] = {"gen_ai.request.model": "gpt"}
    failed = tool_span("refund", None, start=3)
    del failed["attributes"]["gen_ai.tool.call.result"]  # a tool that raised returns nothing
    spans = [tool_span("refund", {"ok": True}, start=2), llm_span, failed, LOOKUP]
    assert [(e.tool, e.result) for e in tool_evidence(spans)] == [
        ("lookup_order", '{"order": "B2", "status": "lost", "paid": "40.00", "currency": "EUR"}'),
        ("refund", '{"ok": true}'),
    ]


def test_an_answer_with_no_claims_is_grounded() -> None:
    assert support_overlap("Sorry, I could not help.", []) == (
        1.0,
        "the output makes no claim to check (only stop words and answer phrasing)",
    )


@pytest.mark.parametrize("threshold", [-0.1, 1.5, "high", True, float("nan")])
def test_a_threshold_outside_0_1_is_refused_with_the_scorers_name(threshold: object) -> None:
    with pytest.raises(ValueError, match=r"llm_judge: threshold must be a number from 0 to 1, got"):
        llm_judge(make_run("a", "a"), threshold=threshold)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"groundedness: threshold must be a number from 0 to 1"):
        groundedness(make_run("a"), threshold=threshold)  # type: ignore[arg-type]
