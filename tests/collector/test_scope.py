"""The read scope's SQL, run in the real engine: a team and agent/service globs select exactly their rows."""

from __future__ import annotations

import pytest

from tracereel.collector.control import ANONYMOUS, Principal
from tracereel.collector.query import Scope, glob_to_like, scope_sql

ROWS = [
    ("red", "billing", "api"),
    ("red", "billing-v2", "api"),
    ("red", "support", "batch"),
    ("blue", "billing", "api"),
    ("blue", "100%_done", "api"),
]


def _select(store, scope: Scope) -> list[tuple[str, str, str]]:
    where, params = scope_sql(scope)
    values = ", ".join(f"('{t}', '{a}', '{s}')" for t, a, s in ROWS)
    rows = store.query(
        f"SELECT * FROM (SELECT c1 AS Team, c2 AS AgentName, c3 AS ServiceName FROM values({values})) "
        f"WHERE {where} ORDER BY Team, AgentName",
        params,
    )
    return [tuple(r) for r in rows]


def test_an_unrestricted_scope_is_no_condition(store):
    assert scope_sql(Scope()) == ("1", {})
    assert len(_select(store, Scope())) == len(ROWS)


def test_team_and_globs_select_their_rows_only(store):
    assert _select(store, Scope(team="red", agents=("billing*",))) == [
        ("red", "billing", "api"),
        ("red", "billing-v2", "api"),
    ]
    assert _select(store, Scope(team="red", services=("batch", "nope"))) == [("red", "support", "batch")]
    assert _select(store, Scope(team="green")) == []


def test_like_wildcards_in_a_name_are_literal(store):
    assert glob_to_like("100%_d?ne*") == "100\\%\\_d_ne%"
    assert _select(store, Scope(agents=("100%_*",))) == [("blue", "100%_done", "api")]
    assert _select(store, Scope(agents=("1%",))) == []


def test_a_table_without_the_column_cannot_be_scoped():
    with pytest.raises(ValueError, match="team column"):
        scope_sql(Scope(team="red"), team_column=None)
    with pytest.raises(ValueError, match="agent column"):
        scope_sql(Scope(agents=("a*",)), agent_column=None)


def test_roles():
    reader = Principal(key_id="k1", role="read", team="red")
    assert reader.has_role("read") and not reader.has_role("admin") and not reader.has_role("ingest")
    assert ANONYMOUS.has_role("ingest", "read") and ANONYMOUS.has_role("admin")
