"""What the CLI, the collector and the evaluator agree on about online rules (DESIGN.md "Production loop").

An online rule runs scorers on a sample of finished production traces. Two rules live here,
each written once with its SQL twin and a test that they agree (tests/shared/test_online_rules.py):

- **sampling**: a trace is in a rule's sample when a hash of (rule name, trace id) falls below
  the rule's rate, so every evaluator (and the collector's progress counts) picks the same traces;
- **sharding**: ``--shard K/N`` gives evaluator K the traces whose id hashes to K modulo N, so
  N evaluators split the work and never score a trace twice.

And what a scorer of a rule may be: a reference-free built-in (an online trace has no expected
output) or ``module:func``, with its main option as ``NAME=VALUE``. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Final

__all__ = [
    "NAME_PATTERN",
    "ONLINE_SCORERS",
    "SCORER_PATTERN",
    "parse_scorer",
    "parse_shard",
    "sampled",
    "sampled_sql",
    "scorer_problem",
    "shard_of",
    "shard_sql",
    "source_of",
]

NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# The built-ins that judge a trace without an expected output (exact, json_match, numeric need one).
ONLINE_SCORERS: Final = (
    "groundedness",
    "llm_judge",
    "max_steps",
    "tool_not_called",
    "tool_called",
    "tool_sequence",
    "escalated",
    "abstains",
    "contains",
    "regex",
    "no_canary",
)
_CUSTOM: Final = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
SCORER_PATTERN: Final = re.compile(r"^[A-Za-z_][\w.:]*(=.*)?$", re.DOTALL)
_SPACE: Final = 2**64


def source_of(rule: str) -> str:
    """The ``source`` of a rule's scores: ``online:RULE``."""
    return f"online:{rule}"


def _hash64(text: str) -> int:
    # The first 8 bytes of MD5, big-endian: ClickHouse computes the same with MD5 and reinterpret.
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "big")


def _threshold(rate: float) -> int:
    return min(_SPACE, int(rate * _SPACE))


def sampled(rule: str, trace_id: str, rate: float) -> bool:
    """Is ``trace_id`` in ``rule``'s sample at ``rate`` (0 < rate <= 1)?"""
    return rate >= 1.0 or _hash64(f"{rule}:{trace_id}") < _threshold(rate)


def _hash64_sql(expr: str) -> str:
    return f"reinterpretAsUInt64(reverse(substring(MD5({expr}), 1, 8)))"


def sampled_sql(rule_param: str, rate: float, trace_column: str = "TraceId") -> tuple[str, dict[str, Any]]:
    """The SQL condition of :func:`sampled` for the rule name in query parameter ``rule_param``."""
    if rate >= 1.0:
        return "1", {}
    key = "concat({" + rule_param + ":String}, ':', " + trace_column + ")"
    return f"{_hash64_sql(key)} < {{sample_below:UInt64}}", {"sample_below": _threshold(rate)}


def shard_of(trace_id: str, shards: int) -> int:
    """Which of ``shards`` evaluators takes ``trace_id``."""
    return _hash64(trace_id) % shards


def shard_sql(shard: int, shards: int, trace_column: str = "TraceId") -> tuple[str, dict[str, Any]]:
    """The SQL condition of :func:`shard_of` ``== shard``."""
    if shards <= 1 and shard == 0:
        return "1", {}
    return (
        f"{_hash64_sql(trace_column)} % {{shards:UInt64}} = {{shard:UInt64}}",
        {"shards": shards, "shard": shard},
    )


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` as (K, N), 0 <= K < N; ValueError naming what is wrong."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise ValueError(f"expected K/N (this evaluator's share: 0/2 and 1/2 split the work), got {text!r}")
    shard, shards = int(match[1]), int(match[2])
    if shards < 1 or shard >= shards:
        raise ValueError(f"expected 0 <= K < N in K/N, got {text!r}")
    return shard, shards


def parse_scorer(spec: str) -> tuple[str, Any]:
    """``"max_steps=8"`` as ("max_steps", 8); ``"groundedness"`` as ("groundedness", None).

    The value is JSON when it parses as JSON (a number, a list), else the text itself.
    """
    name, sep, raw = spec.partition("=")
    if not sep:
        return name.strip(), None
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return name.strip(), value


def scorer_problem(spec: str) -> str | None:
    """Why ``spec`` cannot be a rule's scorer, or None. Checks names only (a module is imported by the evaluator)."""
    name, _ = parse_scorer(spec)
    if name in ONLINE_SCORERS or _CUSTOM.match(name):
        return None
    return f"unknown scorer {name!r} (online scorers: {', '.join(ONLINE_SCORERS)}; or module:func)"
