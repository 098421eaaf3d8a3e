"""Full-text search over payloads (issue 24 part 3): ``GET /api/v1/traces?q=`` and ``tracereel traces --search``.

One seeded store for the module, served by a real collector (uvicorn on 127.0.0.1, real chDB), with
keys for two teams. The test writes each trace's spans itself and computes which traces a search
must find from the payloads it wrote (any span holds each word, as literal text, any case), then
compares the collector's answer with that, over words spread across spans, case, special
characters (with decoys that a LIKE pattern or a regex would wrongly match), and the list's
filters, window and read scope combined.
"""

from __future__ import annotations

import itertools
import json
import random
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from click.testing import CliRunner

from tests.collector.otlp_payloads import protobuf_request
from tests.support import bearer, bound_socket, migrated_store, serve_in_thread, wait_until
from tracereel.cli import main
from tracereel.collector.query.scope import EVERYTHING, Scope
from tracereel.collector.query.search import few_matching_traces
from tracereel.collector.query.traces import search_stretches

if TYPE_CHECKING:
    from tracereel.collector import Store

ADMIN = "admin-secret-for-search-tests"
PB = {"content-type": "application/x-protobuf"}
MINUTE = 60 * 10**9
NOW = time.time_ns()

# The attributes a search reads, as the brief and docs/api.md name them; anything else is not searched.
PAYLOADS = (
    "tracereel.agent.input",
    "tracereel.agent.output",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "input.value",
    "output.value",
)
# Words the seeded payloads are drawn from: plain words in mixed case, and special characters,
# each beside a decoy that a LIKE pattern (% _) or a regex (. * [ ( \) built from the query would match.
VOCABULARY = (
    "Refund",
    "INVOICE",
    "parcel",
    "Delayed",
    "100%",
    "1000",
    "a_b",
    "axb",
    "it's",
    'say "hi"',
    "c:\\temp",
    "c:temp",
    "x*y",
    "xxy",
    "(draft)",
    "[urgent]",
    "u",
    "v1.2",
    "v102",
    "über",
)
AGENTS = ("support", "billing")
SERVICES = ("svc-one", "svc-two")


@dataclass
class Stored:
    """One seeded trace: what the test wrote."""

    trace_id: str
    team: str
    agent: str
    service: str
    error: bool
    start: int
    payloads: list[str]  # each span's payload values (lower-cased, newline-joined)


@dataclass
class Seeded:
    url: str
    http: httpx.Client
    ingest: dict[str, str]
    read: dict[str, str]
    store: Store  # the collector's own, for the search's plan (read only)
    traces: list[Stored] = field(default_factory=list)

    def search(self, q: str, key: str = ADMIN, **params: Any) -> httpx.Response:
        return self.http.get("/api/v1/traces", params={"q": q, "limit": 1000, **params}, headers=bearer(key))

    def found(self, q: str, key: str = ADMIN, **params: Any) -> list[str]:
        answer = self.search(q, key, **params)
        assert answer.status_code == 200, answer.text
        return [t["trace_id"] for t in answer.json()["traces"]]


def matches(trace: Stored, q: str) -> bool:
    """The documented semantics: every whitespace-separated word, ignoring case, in some span's payload."""
    return all(any(word.lower() in text for text in trace.payloads) for word in q.split())


HOUR, DAY = 60 * MINUTE, 24 * 60 * MINUTE
# How long ago each seeded trace started: in each stretch a search reads in turn (the last hour, day,
# week, month, and before), so a search with a small limit stops early and one with a large limit does not.
_AGO = (
    [(i + 1) * MINUTE for i in range(20)]
    + [(i + 2) * HOUR for i in range(20)]
    + [(i + 2) * DAY for i in range(15)]
    + [(i + 35) * DAY for i in range(5)]
)


def _trace(rng: random.Random, team: str, i: int) -> tuple[Stored, list[dict[str, Any]]]:
    trace_id = secrets.token_hex(16)
    agent, service = rng.choice(AGENTS), rng.choice(SERVICES)
    start = NOW - _AGO[i]
    error = rng.random() < 0.3

    def words() -> str:
        return " ".join(rng.sample(VOCABULARY, 3))

    specs: list[dict[str, Any]] = [
        {
            "trace_id": trace_id,
            "span_id": secrets.token_hex(8),
            "name": f"invoke_agent {agent}",
            "start": start,
            "end": start + 50_000_000,
            "status": 2 if error else 0,
            "attributes": {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": agent,
                "tracereel.agent.input": json.dumps({"question": words()}),
                # Not a payload: a word here only must not make the trace match.
                "note": "Hidden-Word",
            },
        }
    ]
    root = specs[0]["span_id"]
    for offset, attrs in enumerate(
        (
            {"gen_ai.operation.name": "chat", "gen_ai.output.messages": json.dumps([{"content": words()}])},
            {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "t", "gen_ai.tool.call.result": words()},
            {"openinference.span.kind": "TOOL", "input.value": words()},
        ),
        start=1,
    ):
        specs.append(
            {
                "trace_id": trace_id,
                "span_id": secrets.token_hex(8),
                "parent": root,
                "name": f"step {offset}",
                "start": start + offset * 1_000_000,
                "end": start + offset * 2_000_000,
                "attributes": attrs,
            }
        )
    payloads = ["\n".join(str(v) for k, v in spec["attributes"].items() if k in PAYLOADS).lower() for spec in specs]
    return Stored(trace_id, team, agent, service, error, start, payloads), specs


def _post(http: httpx.Client, key: str, specs: list[dict[str, Any]], service: str) -> None:
    answer = http.post("/v1/traces", content=protobuf_request(specs, service=service), headers={**PB, **bearer(key)})
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    from tracereel.collector import CollectorSettings, Store, create_app

    directory: Path = tmp_path_factory.mktemp("search-store")
    store = Store.open(migrated_store(directory / "store"))
    sock = bound_socket()
    settings = CollectorSettings(
        host="127.0.0.1",
        port=sock.getsockname()[1],
        store=store.url,
        grpc_port=0,
        admin_key=ADMIN,
        wal_dir=str(directory / "wal"),
    )
    served = serve_in_thread(create_app(settings, store), sock)
    try:
        with httpx.Client(base_url=served.url, timeout=30) as http:
            keys: dict[str, dict[str, str]] = {"ingest": {}, "read": {}}
            for team in ("red", "blue"):
                for role in ("ingest", "read"):
                    made = http.post("/api/v1/keys", json={"team": team, "role": role}, headers=bearer(ADMIN))
                    assert made.status_code == 201, made.text
                    keys[role][team] = made.json()["key"]
            world = Seeded(served.url, http, keys["ingest"], keys["read"], store)
            rng = random.Random(24)
            for i in range(60):
                stored, specs = _trace(rng, rng.choice(("red", "blue")), i)
                _post(http, world.ingest[stored.team], specs, stored.service)
                world.traces.append(stored)
            yield world
    finally:
        served.stop()
        store.close()


QUERIES = (
    "refund",
    "REFUND invoice",
    "Parcel DELAYED refund",
    "100%",
    "a_b",
    "it's",
    '"hi"',
    "c:\\temp",
    "x*y",
    "(draft)",
    "[urgent]",
    "v1.2",
    "ÜBER",
    "u",
    "hidden-word",
    "refund nothing-has-this",
)


@pytest.mark.parametrize("q", QUERIES)
def test_a_search_finds_exactly_the_traces_whose_payloads_hold_every_word(seeded: Seeded, q: str):
    expected = [t.trace_id for t in sorted(seeded.traces, key=lambda t: t.start, reverse=True) if matches(t, q)]
    assert seeded.found(q) == expected  # the same traces, newest first


@pytest.mark.parametrize("limit", [1, 5, 20, 25, 45, 58, 100])
def test_a_search_lists_the_newest_matching_traces_up_to_the_limit(seeded: Seeded, limit: int):
    # The seeded traces spread over the last hour, day, week, month and before: a limit is reached in
    # one stretch or another, or never.
    q = "refund"
    expected = [t.trace_id for t in sorted(seeded.traces, key=lambda t: t.start, reverse=True) if matches(t, q)]
    answer = seeded.search(q, limit=limit)
    assert answer.status_code == 200, answer.text
    assert [t["trace_id"] for t in answer.json()["traces"]] == expected[:limit]


@pytest.mark.parametrize("limit", [1, 3, 10, 59, 100])
@pytest.mark.parametrize("q", ["question", "QUESTION refund"])
def test_a_word_every_trace_holds_lists_the_newest_matching_traces_up_to_the_limit(seeded: Seeded, q: str, limit: int):
    # Every root's input holds "question": a small limit is answered from the newest stretch (fewer spans
    # than 4 x limit would be read at once), a large one from the whole window.
    assert all(matches(t, "question") for t in seeded.traces)
    expected = [t.trace_id for t in sorted(seeded.traces, key=lambda t: t.start, reverse=True) if matches(t, q)]
    assert seeded.found(q, limit=limit) == expected[:limit]


def _utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)


def _ns(moment: datetime) -> int:
    return round(moment.timestamp() * 1e6) * 1000


@pytest.mark.parametrize("team", [None, "red"])
def test_the_newest_stretch_of_a_search_holds_the_newest_limit_tasks_and_the_stretches_tile_the_window(
    seeded: Seeded, team: str | None
):
    scope = Scope(team=team)
    starts = sorted((t.start for t in seeded.traces if team in (None, t.team)), reverse=True)
    start, end = _utc(NOW - 60 * DAY), _utc(NOW + MINUTE)
    for limit in (1, 5, 20):
        stretches = search_stretches(seeded.store, start=start, end=end, limit=limit, scope=scope)
        assert stretches[0][1] == end and stretches[-1][0] == start
        assert all(newer[0] == older[1] and older[0] < older[1] for newer, older in itertools.pairwise(stretches))
        # A word every task holds needs no other stretch.
        assert sum(s >= _ns(stretches[0][0]) for s in starts) == limit, limit
        # Further back, each stretch reaches further back from the newest task than the one before, many times:
        # a few stretches for any window.
        reach = [starts[0] - _ns(lo) for lo, _ in stretches[1:-1]]
        assert all(longer > 2 * shorter for shorter, longer in itertools.pairwise(reach))
    assert search_stretches(seeded.store, start=start, end=end, limit=len(starts) + 1, scope=scope) == [(start, end)]


@pytest.mark.parametrize("team", [None, "blue"])
def test_a_search_with_a_word_of_few_spans_finds_its_traces_at_once_and_one_without_does_not(
    seeded: Seeded, team: str | None
):
    scope = EVERYTHING if team is None else Scope(team=team)
    start, end = _utc(NOW - 60 * DAY), _utc(NOW + MINUTE)
    for q in ("refund", "parcel [urgent]", "Refund question"):
        mine = [t for t in seeded.traces if team in (None, t.team)]
        # The spans holding each word; the rarest word's decide whether the traces are found at once.
        spans = min(sum(word.lower() in text for t in mine for text in t.payloads) for word in q.split())
        assert spans > 1, q
        found = few_matching_traces(seeded.store, q, spans + 1, start=start, end=end, scope=scope)
        assert found is not None and sorted(found) == sorted(t.trace_id for t in mine if matches(t, q)), q
        assert few_matching_traces(seeded.store, q, spans, start=start, end=end, scope=scope) is None
    assert few_matching_traces(seeded.store, "nothing-has-this", 1, start=start, end=end, scope=scope) == []


def test_the_seed_exercises_each_case(seeded: Seeded):
    # Words across spans, a decoy beside each special character, and queries that find nothing.
    def count(q: str) -> int:
        return sum(matches(t, q) for t in seeded.traces)

    assert 0 < count("refund invoice") < count("refund")
    assert any(matches(t, "parcel delayed") and not any("parcel" in p and "delayed" in p for p in t.payloads)
               for t in seeded.traces)  # fmt: skip
    for special, decoy in (("100%", "1000"), ("a_b", "axb"), ("c:\\temp", "c:temp"), ("x*y", "xxy"), ("v1.2", "v102")):
        assert count(special) > 0
        assert any(matches(t, decoy) and not matches(t, special) for t in seeded.traces), special
    assert count("hidden-word") == count("refund nothing-has-this") == 0


def test_search_keeps_the_filters_window_and_read_scope(seeded: Seeded):
    q = "refund"
    newest = sorted(seeded.traces, key=lambda t: t.start, reverse=True)
    # Window: the traces started between the 10th and the 40th minute ago.
    lo, hi = NOW - 40 * MINUTE, NOW - 10 * MINUTE
    window = {"from": f"{lo / 1e9:.6f}", "to": f"{hi / 1e9:.6f}"}
    for team in ("red", "blue"):
        for agent in AGENTS:
            for status, error in (("ok", False), ("error", True)):
                want = [
                    t.trace_id
                    for t in newest
                    if t.team == team and t.agent == agent and t.error == error and lo <= t.start < hi and matches(t, q)
                ]
                got = seeded.found(q, seeded.read[team], agent=agent, status=status, **window)
                assert got == want, (team, agent, status)
        mine = [t.trace_id for t in newest if t.team == team and t.service == "svc-two" and matches(t, q)]
        assert seeded.found(q, seeded.read[team], service="svc-two") == mine
    # Another team's matching trace never appears; the admin sees both teams'.
    assert {t.team for t in seeded.traces if matches(t, q)} == {"red", "blue"}
    assert set(seeded.found(q)) == {t.trace_id for t in seeded.traces if matches(t, q)}
    assert seeded.found(q, limit=2) == [t.trace_id for t in newest if matches(t, q)][:2]


def test_a_span_is_found_once_the_collector_acknowledged_it(seeded: Seeded):
    word = f"Ack{secrets.token_hex(6)}"
    rng = random.Random(7)
    stored, specs = _trace(rng, "red", -1)
    specs[1]["attributes"]["gen_ai.output.messages"] = json.dumps([{"content": f"tracking {word}"}])
    assert seeded.found(word) == []
    _post(seeded.http, seeded.ingest["red"], specs, stored.service)  # 200: acknowledged
    stored.payloads[1] = specs[1]["attributes"]["gen_ai.output.messages"].lower()
    seeded.traces.append(stored)
    wait_until(lambda: seeded.found(word.upper()) == [stored.trace_id], f"the search to find {word}")
    assert seeded.found(word, seeded.read["blue"]) == []


@pytest.mark.parametrize(
    ("q", "problem"),
    [("", "q is empty"), ("   \t ", "q is only whitespace"), ("x" * 1001, "at most 1,000 characters")],
)
def test_an_empty_blank_or_too_long_search_is_a_400_naming_the_problem(seeded: Seeded, q: str, problem: str):
    answer = seeded.search(q)
    assert answer.status_code == 400
    assert problem in answer.json()["detail"]


def test_a_search_of_exactly_1000_characters_is_answered(seeded: Seeded):
    q = "refund " + "x" * 993
    assert len(q) == 1000
    assert seeded.found(q) == []


def _cli(seeded: Seeded, *args: str) -> Any:
    return CliRunner().invoke(
        main, ["traces", *args, "--collector", seeded.url], env={"TRACEREEL_API_KEY": seeded.read["blue"]}
    )


def test_the_cli_searches_with_the_read_key_it_is_given(seeded: Seeded):
    q = "invoice parcel"
    ran = _cli(seeded, "--search", q, "--limit", "1000", "--json")
    assert ran.exit_code == 0, ran.output
    want = [t.trace_id for t in sorted(seeded.traces, key=lambda t: t.start, reverse=True) if t.team == "blue"]
    assert [row["trace_id"] for row in json.loads(ran.output)] == [t for t in want if t in seeded.found(q)]
    assert json.loads(ran.output)  # the seed gives blue such traces
    nothing = _cli(seeded, "--search", "nothing-has-this")
    assert nothing.exit_code == 0
    assert nothing.output.startswith("no traces matching 'nothing-has-this'")


@pytest.mark.parametrize(("q", "problem"), [("", "q is empty"), (" ", "only whitespace"), ("y" * 1001, "1,000")])
def test_the_cli_refuses_a_bad_search_in_one_line_with_exit_2(seeded: Seeded, q: str, problem: str):
    ran = _cli(seeded, "--search", q)
    assert ran.exit_code == 2
    assert problem in ran.output
    assert "Traceback" not in ran.output
    assert len(ran.output.strip().splitlines()) == 1
