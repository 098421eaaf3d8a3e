"""Online sampling and sharding are written once (tracereel/online.py): Python and SQL pick the same traces."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tracereel.evals.scorers import BUILTIN, JUDGES
from tracereel.online import (
    ONLINE_SCORERS,
    parse_scorer,
    parse_shard,
    sampled,
    sampled_sql,
    scorer_problem,
    shard_of,
    shard_sql,
)

TRACE_IDS = [hashlib.md5(str(i).encode()).hexdigest() for i in range(400)]


@pytest.mark.parametrize("rate", [0.01, 0.1, 0.5, 0.9, 1.0])
def test_sampling_agrees_in_sql_and_python(store: Any, rate: float) -> None:
    condition, params = sampled_sql("rule", rate)
    rows = store.query(
        f"SELECT TraceId FROM (SELECT arrayJoin({{ids:Array(String)}}) AS TraceId) WHERE {condition}",
        {"ids": TRACE_IDS, "rule": "quality", **params},
    )
    in_sql = {str(r[0]) for r in rows}
    in_python = {t for t in TRACE_IDS if sampled("quality", t, rate)}
    assert in_sql == in_python
    # The rate is what it says, within what 400 draws allow; 1.0 takes every trace.
    assert abs(len(in_python) / len(TRACE_IDS) - rate) < 0.08
    assert rate < 1.0 or in_python == set(TRACE_IDS)


def test_a_rule_samples_independently_of_another() -> None:
    first = {t for t in TRACE_IDS if sampled("a", t, 0.5)}
    second = {t for t in TRACE_IDS if sampled("b", t, 0.5)}
    assert first != second


@pytest.mark.parametrize("shards", [2, 3])
def test_shards_agree_in_sql_and_python_and_cover_every_trace_once(store: Any, shards: int) -> None:
    taken: list[str] = []
    for shard in range(shards):
        condition, params = shard_sql(shard, shards)
        rows = store.query(
            f"SELECT TraceId FROM (SELECT arrayJoin({{ids:Array(String)}}) AS TraceId) WHERE {condition}",
            {"ids": TRACE_IDS, **params},
        )
        in_sql = {str(r[0]) for r in rows}
        assert in_sql == {t for t in TRACE_IDS if shard_of(t, shards) == shard}
        taken.extend(in_sql)
    assert sorted(taken) == sorted(TRACE_IDS)


def test_every_online_scorer_is_an_evals_scorer_that_needs_no_expected_output() -> None:
    assert set(ONLINE_SCORERS) <= {*BUILTIN, *JUDGES}
    assert not {"exact", "json_match", "numeric"} & set(ONLINE_SCORERS)


def test_scorer_specs_and_shards_parse_or_say_why_not() -> None:
    assert parse_scorer("max_steps=8") == ("max_steps", 8)
    assert parse_scorer("tool_not_called=refund") == ("tool_not_called", "refund")
    assert parse_scorer("groundedness") == ("groundedness", None)
    assert scorer_problem("my.module:judge") is None
    assert scorer_problem("exact") is not None and "unknown scorer 'exact'" in str(scorer_problem("exact"))
    assert parse_shard("1/3") == (1, 3)
    for bad in ("3/3", "1", "a/b", "0/0"):
        with pytest.raises(ValueError, match="K/N"):
            parse_shard(bad)
