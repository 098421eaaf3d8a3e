"""Full-text search over payloads (issue 24 part 3): the ``q`` of the trace list, parsed and made a condition.

Semantics: the text's words are its whitespace-separated parts; a trace matches when every word
occurs, as literal text and ignoring case, in the payloads (tracereel/rules.py, search text) of
its spans: any of its spans, each word in any of them, the scope's team's spans only. Nothing in
a word is syntax: ``%``, ``_``, quotes, backslashes, ``*``, brackets and dots are searched for as
they are (bound parameters, ``position``; never a LIKE pattern or a regex made from the input).

How: the search table (migration 0021) holds each span's payload text, lower-cased, under a
text index of its 3-grams. A word that occurs in a text has all its 3-grams there, so
``hasAllTokens`` on the word's 3-grams lets the index skip every granule that cannot match (a
superset, never a miss), and ``position`` decides. A word shorter than three characters has no
3-gram: it is checked by ``position`` alone over the window.

A word most spans hold gets nothing from the index: every granule has its 3-grams. The trace list
therefore reads such a search newest stretch first (collector/query/traces.py), and asks
:func:`few_matching_traces` first for the traces, if the whole window's matching spans are few.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Final

from tracereel.collector.query.metrics import RUN_AFTER, SKEW_BEFORE
from tracereel.collector.query.params import ParamError
from tracereel.collector.query.scope import EVERYTHING, Scope, scope_sql
from tracereel.collector.store import SEARCH_NGRAM, SEARCH_TABLE, TRACE_ID_TS_TABLE, Store
from tracereel.search import MAX_SEARCH_CHARS, search_words

__all__ = ["MAX_SEARCH_CHARS", "SearchError", "few_matching_traces", "parse_search", "search_condition"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)


class SearchError(ParamError):
    """A search text the list cannot take (empty, blank, too long); the API answers 400 with its message."""


def parse_search(text: str) -> tuple[str, ...]:
    """The words of a search text, each once, in order; SearchError if it is empty, blank or too long
    (the rule is tracereel/search.py's, shared with the client)."""
    try:
        return search_words(text)
    except ValueError as exc:
        raise SearchError(str(exc)) from None


def _contains(i: int) -> str:
    """Whether a span's text holds the i-th word, as literal text (the text is lower-cased when stored)."""
    return f"position(Text, lowerUTF8({{search_w{i}:String}})) > 0"


def _matching_spans(
    text: str, *, start: datetime, end: datetime, scope: Scope
) -> tuple[str, list[str], dict[str, Any]]:
    """The search table's spans that may belong to a trace starting in [start, end) and hold any word of
    ``text``: the SQL (FROM and WHERE), each word's condition, and the parameters."""
    words = parse_search(text)
    team, params = scope_sql(Scope(team=scope.team), agent_column=None, service_column=None, name="search_scope")
    # A trace's spans start a little before its root, or up to hours after it (as the metrics count them).
    params["search_lo"] = max(start - SKEW_BEFORE, _EPOCH)
    params["search_hi"] = end + RUN_AFTER
    found: list[str] = []
    for i, word in enumerate(words):
        params[f"search_w{i}"] = word
        needle = f"lowerUTF8({{search_w{i}:String}})"
        literal = _contains(i)
        if len(word) >= SEARCH_NGRAM:
            # Before the literal check, so the index reads only granules holding every 3-gram of the word.
            literal = f"hasAllTokens(Text, tokens({needle}, 'ngrams', {SEARCH_NGRAM})) AND {literal}"
        found.append(f"({literal})")
    spans = f"""FROM {SEARCH_TABLE}
    WHERE {team} AND Timestamp >= {{search_lo:DateTime64(9)}} AND Timestamp < {{search_hi:DateTime64(9)}}
      AND ({" OR ".join(found)})"""
    return spans, found, params


def search_condition(
    text: str, *, start: datetime, end: datetime, scope: Scope = EVERYTHING
) -> tuple[str, dict[str, Any]]:
    """A condition on ``TraceId`` (traces whose root starts in [start, end)) and its parameters: the
    trace's payloads contain every word of ``text``; SearchError for a text :func:`parse_search` refuses.

    Only the spans of ``scope``'s team are read; its agent and service globs are the list's to apply.
    """
    spans, found, params = _matching_spans(text, start=start, end=end, scope=scope)
    spans = f"SELECT TraceId {spans}"
    if len(found) > 1:
        # Each word in any of the trace's spans: a span holding one word is enough for that word.
        spans += "\n    GROUP BY TraceId HAVING " + " AND ".join(f"max({w})" for w in found)
    return f"TraceId IN (\n    {spans}\n)", params


def few_matching_traces(
    store: Store, text: str, hits: int, *, start: datetime, end: datetime, scope: Scope = EVERYTHING
) -> list[str] | None:
    """The traces (starting in [start, end), as :func:`search_condition` finds them) whose spans of
    ``scope``'s team hold every word of ``text``, if fewer than ``hits`` of those spans hold one of its
    words; None if every word is held by more: then the list reads the window a stretch at a time.

    Each word's read stops at ``hits`` spans, so a word every span holds costs the first granules only.
    The traces of the first word with few spans are the only candidates: the other words are looked
    for in those traces' own spans (their time ranges from the trace-id lookup), never in the window's.
    """
    spans, found, params = _matching_spans(text, start=start, end=end, scope=scope)
    for rare in found:
        rows = store.query(
            f"SELECT TraceId {spans} AND {rare}\n    LIMIT {{search_hits:UInt32}}", {**params, "search_hits": hits}
        )
        if len(rows) < hits:
            break
    else:
        return None
    candidates = list(dict.fromkeys(str(row[0]) for row in rows))
    if len(found) == 1 or not candidates:
        return candidates
    bounds = store.query(
        f"""SELECT TraceId, min(Start), max(End) FROM {TRACE_ID_TS_TABLE}
WHERE TraceId IN {{ids:Array(String)}} GROUP BY TraceId""",
        {"ids": candidates},
    )
    if not bounds:  # the lookup is kept by a view on the same inserts: no bounds, no spans
        return []
    # Whole seconds in the lookup: from the second a trace's first span starts to the one after its last ends.
    own: list[str] = []
    for i, (trace_id, lo, hi) in enumerate(bounds):
        own.append(
            f"(TraceId = {{own_id{i}:String}} AND Timestamp >= {{own_lo{i}:DateTime64(9)}}"
            f" AND Timestamp < {{own_hi{i}:DateTime64(9)}})"
        )
        params[f"own_id{i}"] = trace_id
        params[f"own_lo{i}"] = lo.replace(tzinfo=timezone.utc)
        params[f"own_hi{i}"] = hi.replace(tzinfo=timezone.utc) + timedelta(seconds=1)
    team, team_params = scope_sql(Scope(team=scope.team), agent_column=None, service_column=None, name="own_scope")
    # No text index here: a common word's postings cover whole parts, these spans are a few granules.
    literal = ", ".join(_contains(i) for i in range(len(found)))
    rows = store.query(
        f"""SELECT TraceId, {literal} FROM {SEARCH_TABLE}
    WHERE {team} AND Timestamp >= {{search_lo:DateTime64(9)}} AND Timestamp < {{search_hi:DateTime64(9)}}
      AND ({" OR ".join(own)})""",
        {**params, **team_params},
    )
    words: dict[str, set[int]] = {}
    for trace_id, *holds in rows:
        words.setdefault(trace_id, set()).update(i for i, held in enumerate(holds) if held)
    return [trace_id for trace_id in candidates if len(words.get(trace_id, ())) == len(found)]
