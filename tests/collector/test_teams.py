"""Teams: an ingest key stamps its team on every span, and a read key sees only its team, on every read path.

Two teams, alpha and beta, each with an agent named ``support-bot`` (the same name, so only the
team tells them apart), their own service, model and tool, and an eval run each. The leak test
walks every GET route of the collector's ROUTERS: a new read endpoint fails it until it is in
``CHECKS`` with a way to prove it shows one team's data only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.collector.otlp_payloads import agent_task, langgraph_task, protobuf_request
from tests.eval_reports import report
from tests.support import wait_until
from tracereel.collector.api import OPEN_ROUTERS, ROUTERS

ADMIN = "admin-secret-for-tests"
PB = {"content-type": "application/x-protobuf"}
NOW = time.time_ns()
HOUR = 3600 * 10**9


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@dataclass
class Team:
    """One team's keys and what it stored."""

    name: str
    service: str
    model: str
    tool: str
    ingest: str = ""
    read: str = ""
    traces: dict[str, str] = field(default_factory=dict)  # trace id -> root agent
    run_id: str = ""


@dataclass
class World:
    http: TestClient
    alpha: Team
    beta: Team
    store: Any


def _create(http: TestClient, **body: Any) -> dict[str, Any]:
    response = http.post("/api/v1/keys", json=body, headers=bearer(ADMIN))
    assert response.status_code == 201, response.text
    return response.json()


def _ingest(
    http: TestClient, team: Team, trace_id: str, agent: str, service: str, start: int, version: str = ""
) -> None:
    # Every team asks the same question, so a search for its words must tell the teams apart.
    extra = {"tracereel.agent.input": '{"question": "Where is my parcel?"}'}
    if version:
        extra["gen_ai.agent.version"] = version
    body = protobuf_request(agent_task(trace_id, agent, team.model, team.tool, start, extra), service=service)
    response = http.post("/v1/traces", content=body, headers={**PB, **bearer(team.ingest)})
    assert response.status_code == 200, response.text
    team.traces[trace_id] = agent


@pytest.fixture
def world(asgi_collector_factory: Any) -> World:
    collector = asgi_collector_factory(admin_key=ADMIN)
    http = collector.http
    alpha = Team("alpha", "svc-alpha", "gpt-4o", "lookup_order")
    beta = Team("beta", "svc-beta", "claude-3-5-sonnet", "issue_refund")
    for i, team in enumerate((alpha, beta)):
        team.ingest = _create(http, team=team.name, role="ingest")["key"]
        team.read = _create(http, team=team.name, role="read")["key"]
        base = NOW - HOUR - i * 10**9
        # Versions 1 and 2 of the same agent in both teams, for the canary comparison.
        _ingest(http, team, f"{i + 1:x}" * 16 + "00000000000000a1", "support-bot", team.service, base, "1")
        _ingest(http, team, f"{i + 1:x}" * 16 + "00000000000000a2", "support-bot", team.service, base + 10**8, "2")
    # alpha also runs a second agent on a second service (for the glob tests).
    _ingest(http, alpha, "a" * 16 + "00000000000000b1", "billing-bot", "svc-alpha-billing", NOW - 2 * HOUR)
    for team in (alpha, beta):
        team.run_id = f"run-{team.name}"
        posted = http.post("/api/v1/evals/runs", json=report(team.run_id), headers=bearer(team.ingest))
        assert posted.status_code == 201, posted.text
        # Each team judges its own traces (scores belong to the trace's team).
        scores = [{"trace_id": trace_id, "name": f"{team.name}-judge", "value": 1} for trace_id in team.traces]
        scored = http.post("/api/v1/scores/batch", json={"scores": scores}, headers=bearer(team.ingest))
        assert scored.status_code == 201, scored.text
    return World(http, alpha, beta, collector.store)


# --- how each GET route shows that a read key of alpha sees alpha's data and none of beta's ---------


def _check_trace_list(w: World, get: Callable[..., Any]) -> None:
    for me, other in ((w.alpha, w.beta), (w.beta, w.alpha)):
        listed = get("/api/v1/traces", me.read, params={"limit": 1000}).json()["traces"]
        assert {t["trace_id"] for t in listed} == set(me.traces)
        assert other.service not in {t["service_name"] for t in listed}
        # Counts are the team's own spans only.
        assert all(t["span_count"] == 3 for t in listed)
        # Full-text search: every team's traces hold the words, each team finds its own only.
        found = get("/api/v1/traces", me.read, params={"q": "PARCEL where", "limit": 1000}).json()["traces"]
        assert {t["trace_id"] for t in found} == set(me.traces)
    everyone = get("/api/v1/traces", ADMIN, params={"q": "parcel", "limit": 1000}).json()["traces"]
    assert {t["trace_id"] for t in everyone} == set(w.alpha.traces) | set(w.beta.traces)


def _not_found_like_unknown(w: World, get: Callable[..., Any], path: str, foreign: str, unknown: str) -> None:
    seen = get(path.format(foreign), w.alpha.read)
    missing = get(path.format(unknown), w.alpha.read)
    assert seen.status_code == missing.status_code == 404
    assert seen.json() == {"detail": missing.json()["detail"].replace(unknown, foreign)}
    assert seen.headers.get("content-length") is not None


def _check_trace_by_id(w: World, get: Callable[..., Any]) -> None:
    mine = next(iter(w.alpha.traces))
    found = get(f"/api/v1/traces/{mine}", w.alpha.read)
    assert found.status_code == 200
    assert [s["name"] for s in found.json()["scores"]] == ["alpha-judge"]
    for foreign in w.beta.traces:
        _not_found_like_unknown(w, get, "/api/v1/traces/{}", foreign, "9" * 32)


def _check_metrics(w: World, get: Callable[..., Any]) -> None:
    for me in (w.alpha, w.beta):
        m = get("/api/v1/metrics", me.read).json()
        assert m["tasks"] == len(me.traces)
        assert m["tool_calls"] == len(me.traces)
        # Each team's judge scored its own traces only.
        assert m["scores"] == {f"{me.name}-judge": {"mean": 1.0, "count": len(me.traces)}}


def _check_timeseries(w: World, get: Callable[..., Any]) -> None:
    for me in (w.alpha, w.beta):
        points = get("/api/v1/metrics/timeseries", me.read, params={"metric": "tasks"}).json()["points"]
        assert sum(p["tasks"] for p in points) == len(me.traces)
        for team in (w.alpha, w.beta):
            metric = f"score.{team.name}-judge"
            points = get("/api/v1/metrics/timeseries", me.read, params={"metric": metric}).json()["points"]
            counted = sum(p["scores"][f"{team.name}-judge"]["count"] for p in points if p["scores"])
            assert counted == (len(me.traces) if team is me else 0)


def _check_breakdown(w: World, get: Callable[..., Any]) -> None:
    for me, other in ((w.alpha, w.beta), (w.beta, w.alpha)):
        rows = {
            by: get("/api/v1/metrics/breakdown", me.read, params={"by": by}).json()["rows"]
            for by in ("model", "tool", "agent", "service")
        }
        assert {r["model"] for r in rows["model"]} == {me.model}
        assert {r["tool"] for r in rows["tool"]} == {me.tool}
        assert sum(r["tasks"] for r in rows["agent"]) == len(me.traces)
        assert other.service not in {r["service"] for r in rows["service"]}
        assert sum(r["llm_calls"] for r in rows["model"]) == len(me.traces)


def _check_compare(w: World, get: Callable[..., Any]) -> None:
    # Both teams run versions 1 and 2 of support-bot: each team's comparison counts its own tasks only.
    params = {"agent": "support-bot", "baseline": "1", "canary": "2"}
    for me in (w.alpha, w.beta):
        answer = get("/api/v1/compare", me.read, params=params).json()
        assert (answer["baseline"]["tasks"], answer["canary"]["tasks"]) == (1, 1), answer


def _check_prices(w: World, get: Callable[..., Any]) -> None:
    # The price table is configuration, not any team's data: every read key sees the same one.
    assert get("/api/v1/prices", w.alpha.read).json() == get("/api/v1/prices", w.beta.read).json()


def _check_eval_runs(w: World, get: Callable[..., Any]) -> None:
    for me in (w.alpha, w.beta):
        runs = get("/api/v1/evals/runs", me.read).json()["runs"]
        assert [r["run_id"] for r in runs] == [me.run_id]


def _check_eval_run(w: World, get: Callable[..., Any]) -> None:
    assert get(f"/api/v1/evals/runs/{w.alpha.run_id}", w.alpha.read).status_code == 200
    _not_found_like_unknown(w, get, "/api/v1/evals/runs/{}", w.beta.run_id, "run-nobody")


def _admin_only(path: str) -> Callable[[World, Callable[..., Any]], None]:
    def check(w: World, get: Callable[..., Any]) -> None:
        for key in (w.alpha.read, w.alpha.ingest):
            response = get(path, key)
            assert response.status_code == 403, response.text
            assert "needs the admin role" in response.json()["detail"]
        assert get(path, ADMIN).status_code == 200

    return check


def _not_data(w: World, get: Callable[..., Any]) -> None:
    """The API's own description (OpenAPI, its viewers): the same for every key, no stored data."""


def _check_switches(w: World, get: Callable[..., Any]) -> None:
    # A switch carries a team ('' for every team): a key lists its own team's and the global ones,
    # ingest keys included (they are what agents poll with).
    for agent, team in (("support-bot", "beta"), ("billing-bot", "alpha"), ("every-bot", "")):
        body = {"agent": agent, "team": team, "reason": f"leak test {team or 'all'}"}
        killed = w.http.post("/api/v1/switches", json=body, headers=bearer(ADMIN))
        assert killed.status_code in (200, 201), killed.text
    for me, mine in ((w.alpha, {"billing-bot", "every-bot"}), (w.beta, {"support-bot", "every-bot"})):
        for key in (me.read, me.ingest):
            listed = get("/api/v1/switches", key).json()["switches"]
            assert {s["agent"] for s in listed} == mine, listed


def _team_monitors(w: World) -> None:
    """A monitor of each team, added with an admin key of that team (once per world)."""
    for team in (w.alpha, w.beta):
        name = f"{team.name}-loops"
        admin = _create(w.http, team=team.name, role="admin")["key"]
        body = {"name": name, "metric": "loop_rate", "above": 0.5, "notify": "http://127.0.0.1:9/hook"}
        added = w.http.post("/api/v1/monitors", json=body, headers=bearer(admin))
        assert added.status_code in (201, 409), added.text


def _check_monitors(w: World, get: Callable[..., Any]) -> None:
    _team_monitors(w)
    for me in (w.alpha, w.beta):
        listed = get("/api/v1/monitors", me.read).json()["monitors"]
        assert [m["name"] for m in listed] == [f"{me.name}-loops"], listed


def _check_monitor_history(w: World, get: Callable[..., Any]) -> None:
    _team_monitors(w)
    assert get("/api/v1/monitors/alpha-loops/history", w.alpha.read).status_code == 200
    _not_found_like_unknown(w, get, "/api/v1/monitors/{}/history", "beta-loops", "nobody-loops")


def _team_rules(w: World) -> None:
    """An online rule of each team, added with an admin key of that team (once per world)."""
    for team in (w.alpha, w.beta):
        admin = _create(w.http, team=team.name, role="admin")["key"]
        body = {"name": f"{team.name}-grounded", "scorers": ["groundedness"], "sample": 1.0}
        added = w.http.post("/api/v1/online/rules", json=body, headers=bearer(admin))
        assert added.status_code in (201, 409), added.text


def _check_online_rules(w: World, get: Callable[..., Any]) -> None:
    _team_rules(w)
    for me in (w.alpha, w.beta):
        listed = get("/api/v1/online/rules", me.read).json()["rules"]
        assert [(r["name"], r["team"]) for r in listed] == [(f"{me.name}-grounded", me.name)], listed


def _check_online_pending(w: World, get: Callable[..., Any]) -> None:
    _team_rules(w)
    mine = get("/api/v1/online/rules/alpha-grounded/pending", w.alpha.read)
    assert mine.status_code == 200
    assert {t["trace_id"] for t in mine.json()["traces"]} <= set(w.alpha.traces)
    _not_found_like_unknown(w, get, "/api/v1/online/rules/{}/pending", "beta-grounded", "nobody-grounded")


def _team_queues(w: World) -> None:
    """A review queue of each team (added with an admin key of that team) and one of the global admin (once)."""
    when = "score.alpha-judge >= 1 or score.beta-judge >= 1"
    for team in (w.alpha, w.beta):
        admin = _create(w.http, team=team.name, role="admin")["key"]
        added = w.http.post(
            "/api/v1/review/queues", json={"name": f"{team.name}-q", "when": when}, headers=bearer(admin)
        )
        assert added.status_code in (201, 409), added.text
    added = w.http.post("/api/v1/review/queues", json={"name": "every-q", "when": when}, headers=bearer(ADMIN))
    assert added.status_code in (201, 409), added.text


def _check_review_queues(w: World, get: Callable[..., Any]) -> None:
    _team_queues(w)
    for me in (w.alpha, w.beta):
        listed = get("/api/v1/review/queues", me.read).json()["queues"]
        assert [q["name"] for q in listed] == [f"{me.name}-q"], listed
    assert [q["name"] for q in get("/api/v1/review/queues", ADMIN).json()["queues"]] == ["alpha-q", "beta-q", "every-q"]


def _check_review_items(w: World, get: Callable[..., Any]) -> None:
    _team_queues(w)
    for me in (w.alpha, w.beta):
        items = get(f"/api/v1/review/queues/{me.name}-q/items", me.read).json()["items"]
        assert {i["trace_id"] for i in items} == set(me.traces), items
        assert {i["reason"] for i in items} == {f"score.{me.name}-judge >= 1"}
    everything = get("/api/v1/review/queues/every-q/items", ADMIN).json()["items"]
    assert {i["trace_id"] for i in everything} == set(w.alpha.traces) | set(w.beta.traces)
    _not_found_like_unknown(w, get, "/api/v1/review/queues/{}/items", "beta-q", "nobody-q")
    _not_found_like_unknown(w, get, "/api/v1/review/queues/{}/items", "every-q", "nobody-q")


def _check_clusters(w: World, get: Callable[..., Any]) -> None:
    # Each team's users give every task of the team a thumbs-down: each team's key sees its own failures only.
    for team in (w.alpha, w.beta):
        scores = [
            {"trace_id": t, "name": "user_feedback", "value": -1, "source": "feedback", "comment": f"{team.name} bad"}
            for t in team.traces
        ]
        posted = w.http.post("/api/v1/scores/batch", json={"scores": scores}, headers=bearer(team.ingest))
        assert posted.status_code == 201, posted.text
    for me, other in ((w.alpha, w.beta), (w.beta, w.alpha)):
        clusters = get("/api/v1/clusters", me.read, params={"window": "7d", "examples": 100}).json()["clusters"]
        assert sum(c["size"] for c in clusters) == len(me.traces), clusters
        assert {t for c in clusters for t in c["examples"]} == set(me.traces)
        assert other.name not in {term for c in clusters for term in c["terms"]}
        assert set().union(*(c["agents"] for c in clusters)) == set(me.traces.values())


CHECKS: dict[str, Callable[[World, Callable[..., Any]], None]] = {
    "/api/v1/traces": _check_trace_list,
    "/api/v1/traces/{trace_id}": _check_trace_by_id,
    "/api/v1/metrics": _check_metrics,
    "/api/v1/metrics/timeseries": _check_timeseries,
    "/api/v1/metrics/breakdown": _check_breakdown,
    "/api/v1/prices": _check_prices,
    "/api/v1/compare": _check_compare,
    "/api/v1/monitors": _check_monitors,
    "/api/v1/monitors/{name}/history": _check_monitor_history,
    "/api/v1/evals/runs": _check_eval_runs,
    "/api/v1/evals/runs/{run_id}": _check_eval_run,
    "/api/v1/keys": _admin_only("/api/v1/keys"),
    "/api/v1/audit": _admin_only("/api/v1/audit"),
    "/api/v1/switches": _check_switches,
    "/api/v1/online/rules": _check_online_rules,
    "/api/v1/online/rules/{name}/pending": _check_online_pending,
    "/api/v1/review/queues": _check_review_queues,
    "/api/v1/review/queues/{name}/items": _check_review_items,
    "/api/v1/clusters": _check_clusters,
    "/openapi.json": _not_data,
    "/docs": _not_data,
    "/docs/oauth2-redirect": _not_data,
    "/redoc": _not_data,
}


def _get_routes() -> list[str]:
    """Every GET path the collector serves behind a key."""
    paths = []
    for router in ROUTERS:
        if router in OPEN_ROUTERS:
            continue
        for route in router.routes:
            if "GET" in getattr(route, "methods", set()):
                paths.append(route.path)  # type: ignore[attr-defined]
    return paths


def test_every_read_route_has_a_cross_team_check():
    routes = _get_routes()
    missing = [path for path in routes if path not in CHECKS]
    assert not missing, f"GET routes without a cross-team leak check in CHECKS: {missing}"
    assert any(isinstance(route, APIRoute) for router in ROUTERS for route in router.routes)


def test_no_read_route_shows_one_team_another_teams_data(world: World):
    def get(path: str, key: str, params: dict[str, Any] | None = None) -> Any:
        return world.http.get(path, headers=bearer(key), params=params)

    for path in _get_routes():
        CHECKS[path](world, get)


def test_the_admin_key_sees_every_team(world: World):
    listed = world.http.get("/api/v1/traces", params={"limit": 1000}, headers=bearer(ADMIN)).json()["traces"]
    assert {t["trace_id"] for t in listed} == set(world.alpha.traces) | set(world.beta.traces)
    metrics = world.http.get("/api/v1/metrics", headers=bearer(ADMIN)).json()
    assert metrics["tasks"] == len(world.alpha.traces) + len(world.beta.traces)


def test_agent_and_service_globs_narrow_a_read_key(world: World):
    http = world.http
    support = _create(http, team="alpha", role="read", agents=["support-*"])["key"]
    billing_service = _create(http, team="alpha", role="read", services=["svc-*-billing"])["key"]
    support_ids = {t for t, agent in world.alpha.traces.items() if agent == "support-bot"}
    (billing_id,) = {t for t, agent in world.alpha.traces.items() if agent == "billing-bot"}

    def listed(key: str) -> set[str]:
        rows = http.get("/api/v1/traces", params={"limit": 1000}, headers=bearer(key)).json()["traces"]
        return {t["trace_id"] for t in rows}

    assert listed(support) == support_ids
    assert listed(billing_service) == {billing_id}
    unknown = http.get(f"/api/v1/traces/{'9' * 32}", headers=bearer(support))
    hidden = http.get(f"/api/v1/traces/{billing_id}", headers=bearer(support))
    assert hidden.status_code == 404
    assert hidden.json() == {"detail": unknown.json()["detail"].replace("9" * 32, billing_id)}
    assert http.get(f"/api/v1/traces/{billing_id}", headers=bearer(billing_service)).status_code == 200
    assert http.get("/api/v1/metrics", headers=bearer(support)).json()["tasks"] == len(support_ids)
    assert http.get("/api/v1/metrics", headers=bearer(billing_service)).json()["tasks"] == 1
    agents = http.get("/api/v1/metrics/breakdown", params={"by": "agent"}, headers=bearer(support)).json()["rows"]
    assert {r["agent"] for r in agents} == {"support-bot"}
    # Eval runs have no service: a key narrowed to services cannot be shown one belongs to them.
    assert http.get("/api/v1/evals/runs", headers=bearer(billing_service)).json()["runs"] == []


def test_an_agent_glob_reads_a_langgraph_task_by_its_agent(world: World):
    # The root of a LangGraph task is a chain: the task's agent is its first agent span.
    http = world.http
    trace_id = "c" * 16 + "00000000000000c1"
    body = protobuf_request(langgraph_task(trace_id, "router-graph", NOW - HOUR), service="svc-alpha")
    assert http.post("/v1/traces", content=body, headers={**PB, **bearer(world.alpha.ingest)}).status_code == 200
    router = _create(http, team="alpha", role="read", agents=["router-*"])["key"]
    support = _create(http, team="alpha", role="read", agents=["support-*"])["key"]
    wait_until(lambda: http.get(f"/api/v1/traces/{trace_id}", headers=bearer(router)).status_code == 200, "the task")
    rows = http.get("/api/v1/traces", params={"limit": 1000}, headers=bearer(router)).json()["traces"]
    assert [(t["trace_id"], t["agent_name"]) for t in rows] == [(trace_id, "router-graph")]
    assert http.get("/api/v1/metrics", headers=bearer(router)).json()["tasks"] == 1
    assert http.get(f"/api/v1/traces/{trace_id}", headers=bearer(support)).status_code == 404
    listed = http.get("/api/v1/traces", params={"limit": 1000}, headers=bearer(support)).json()["traces"]
    assert trace_id not in {t["trace_id"] for t in listed}


def test_the_ingest_key_stamps_its_team_whatever_the_client_sent(world: World):
    trace_id = "c" * 16 + "00000000000000c1"
    spans = agent_task(trace_id, "support-bot", "gpt-4o", "lookup_order", NOW - HOUR, {"team": "beta", "Team": "beta"})
    body = protobuf_request(spans, service="svc-alpha")
    response = world.http.post("/v1/traces", content=body, headers={**PB, **bearer(world.alpha.ingest)})
    assert response.status_code == 200

    def teams() -> list[tuple[str]]:
        return world.store.query("SELECT DISTINCT Team FROM otel_traces WHERE TraceId = {t:String}", {"t": trace_id})

    wait_until(lambda: bool(teams()), "the spans are stored")  # the 200 means: in the write-ahead log
    assert teams() == [("alpha",)]
    rollup = world.store.query(
        "SELECT DISTINCT Team FROM tracereel_task_rollup WHERE TraceId = {t:String}", {"t": trace_id}
    )
    assert rollup == [("alpha",)]
    assert world.http.get(f"/api/v1/traces/{trace_id}", headers=bearer(world.beta.read)).status_code == 404
    assert world.http.get(f"/api/v1/traces/{trace_id}", headers=bearer(world.alpha.read)).status_code == 200
    runs = world.store.query("SELECT RunId, Team FROM tracereel_eval_runs ORDER BY RunId")
    assert runs == [("run-alpha", "alpha"), ("run-beta", "beta")]


def test_roles_ingest_cannot_read_and_read_cannot_write(world: World):
    http = world.http
    read, ingest = bearer(world.alpha.read), bearer(world.alpha.ingest)
    denied = http.get("/api/v1/traces", headers=ingest)
    assert denied.status_code == 403
    assert denied.json() == {"detail": "this key's role is ingest; this needs the read or admin role"}
    body = protobuf_request(agent_task("d" * 32, "x", "m", "t", NOW))
    refused = http.post("/v1/traces", content=body, headers={**PB, **read})
    assert refused.status_code == 403
    assert refused.json() == {"detail": "this key's role is read; this needs the ingest or admin role"}
    assert http.post("/api/v1/evals/runs", json=report("run-x"), headers=read).status_code == 403
    first = next(iter(world.alpha.traces))
    for key in (read, ingest):
        assert http.delete(f"/api/v1/traces/{first}", headers=key).status_code == 403
        assert http.post("/api/v1/keys", json={"team": "alpha", "role": "admin"}, headers=key).status_code == 403
    assert http.get(f"/api/v1/traces/{first}", headers=read).status_code == 200


def test_a_key_scores_only_its_own_teams_traces(world: World):
    http = world.http
    foreign = next(iter(world.beta.traces))
    body = {"trace_id": foreign, "name": "sneaky", "value": -1}
    unknown = http.post("/api/v1/scores", json={**body, "trace_id": "9" * 32}, headers=bearer(world.alpha.ingest))
    refused = http.post("/api/v1/scores", json=body, headers=bearer(world.alpha.ingest))
    assert refused.status_code == unknown.status_code == 404
    assert refused.json() == {"detail": unknown.json()["detail"].replace("9" * 32, foreign)}
    # An admin's score of beta's trace is beta's: beta reads it, alpha never sees the trace.
    assert http.post("/api/v1/scores", json=body, headers=bearer(ADMIN)).status_code == 201
    names = [s["name"] for s in http.get(f"/api/v1/traces/{foreign}", headers=bearer(world.beta.read)).json()["scores"]]
    assert names == ["beta-judge", "sneaky"]


def test_online_rules_are_added_by_admins_and_belong_to_their_team(world: World):
    http = world.http
    body = {"name": "alpha-steps", "scorers": ["max_steps=5"], "sample": 1.0}
    for key in (world.alpha.read, world.alpha.ingest):
        assert http.post("/api/v1/online/rules", json=body, headers=bearer(key)).status_code == 403
        assert http.delete("/api/v1/online/rules/alpha-steps", headers=bearer(key)).status_code == 403
    admin = _create(http, team="alpha", role="admin")["key"]
    assert http.post("/api/v1/online/rules", json=body, headers=bearer(admin)).status_code == 201
    seen = {
        team.name: [r["name"] for r in http.get("/api/v1/online/rules", headers=bearer(team.read)).json()["rules"]]
        for team in (world.alpha, world.beta)
    }
    assert seen == {"alpha": ["alpha-steps"], "beta": []}
    assert http.delete("/api/v1/online/rules/alpha-steps", headers=bearer(admin)).status_code == 200
    actions = [e["action"] for e in http.get("/api/v1/audit", headers=bearer(ADMIN)).json()["entries"]]
    assert {"add_online_rule", "remove_online_rule"} <= set(actions)


def test_a_reviewer_judges_only_its_own_teams_traces(world: World):
    http = world.http
    _team_queues(world)
    foreign, mine = next(iter(world.beta.traces)), next(iter(world.alpha.traces))
    body = {"verdict": "fail", "expected": "refunded", "note": "wrong"}
    alpha = bearer(world.alpha.read)
    unknown = http.post(f"/api/v1/review/queues/alpha-q/items/{'9' * 32}", json=body, headers=alpha)
    refused = http.post(f"/api/v1/review/queues/alpha-q/items/{foreign}", json=body, headers=alpha)
    assert refused.status_code == unknown.status_code == 404
    assert refused.json() == {"detail": unknown.json()["detail"].replace("9" * 32, foreign)}
    # Nor through the global queue, which a team's key does not see at all.
    assert http.post(f"/api/v1/review/queues/every-q/items/{foreign}", json=body, headers=alpha).status_code == 404
    # An ingest key is an agent's, not a reviewer's.
    assert (
        http.post(
            f"/api/v1/review/queues/alpha-q/items/{mine}", json=body, headers=bearer(world.alpha.ingest)
        ).status_code
        == 403
    )
    assert http.post(f"/api/v1/review/queues/alpha-q/items/{mine}", json=body, headers=alpha).status_code == 200
    beta_scores = http.get(f"/api/v1/traces/{foreign}", headers=bearer(world.beta.read)).json()["scores"]
    assert [s["name"] for s in beta_scores] == ["beta-judge"]
    # A team's read key can neither add nor remove a queue.
    assert http.post("/api/v1/review/queues", json={"name": "x", "when": "escalated"}, headers=alpha).status_code == 403
    assert http.delete("/api/v1/review/queues/alpha-q", headers=alpha).status_code == 403
