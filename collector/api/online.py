"""Online rules: ``POST/GET /api/v1/online/rules``, ``DELETE /api/v1/online/rules/{name}``, and the
evaluator's work list ``GET /api/v1/online/rules/{name}/pending`` (docs/online.md).

Adding and removing need an admin key and are audited; reads show the rules of the caller's
scope, each with its progress. The collector never runs a scorer: ``tracereel evaluator`` reads
the pending traces here and posts its scores to ``/api/v1/scores/batch``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from tracereel.collector.api.auth import current_principal, read_scope, require_role
from tracereel.collector.control import Principal, record_admin_action
from tracereel.collector.query import (
    RuleExists,
    Scope,
    StoredRule,
    add_rule,
    find_rule,
    list_rules,
    pending_traces,
    remove_rule,
    rule_progress,
)
from tracereel.collector.store import Store
from tracereel.constants import API_PREFIX
from tracereel.contracts.errors import errors
from tracereel.contracts.online import (
    PendingTraces,
    RemovedRule,
    RuleDefinition,
    RuleList,
    RuleView,
    RuleWithProgress,
)
from tracereel.online import NAME_PATTERN

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, responses=errors(401))

# Names are checked when a rule is added; any other name is simply unknown (404).
_NAME = Path(description="The rule's name", json_schema_extra={"pattern": NAME_PATTERN.pattern})


@router.post(
    "/online/rules",
    summary="Add an online rule",
    status_code=201,
    dependencies=[require_role("admin")],
    response_model=RuleView,
    responses=errors(400, 403, 409, 422),
)
async def add(request: Request, body: RuleDefinition, principal: Principal = Depends(current_principal)) -> RuleView:
    """Store a rule (name, scorers, agent, version, sample, rubric) of the key's team; 409 if the name is taken."""
    store: Store = request.app.state.store
    try:
        rule = await run_in_threadpool(add_rule, store, body, principal.team or "")
    except RuleExists as exc:
        raise HTTPException(409, str(exc)) from None
    record_admin_action(
        "add_online_rule",
        rule.name,
        key_id=principal.key_id,
        detail=f"{', '.join(rule.scorers)} on {rule.sample:g} of {rule.agent or 'every agent'}",
        store=store,
    )
    return rule.public()


def _with_progress(store: Store, rules: list[StoredRule], progress: bool) -> list[RuleWithProgress]:
    return [
        RuleWithProgress(**rule.public().model_dump(), progress=rule_progress(store, rule) if progress else None)
        for rule in rules
    ]


@router.get(
    "/online/rules",
    summary="List online rules with their progress",
    response_model=RuleList,
    responses=errors(400, 403),
)
async def rules(
    request: Request,
    progress: bool = Query(True, description="false: the rules alone (what the evaluator polls), without counting"),
    principal: Principal = require_role("read"),
) -> RuleList:
    """Every rule the caller may see, by name, with traces scored, errors, and what waits (count and lag)."""
    store: Store = request.app.state.store
    found = await run_in_threadpool(list_rules, store, read_scope(principal))
    return RuleList(rules=await run_in_threadpool(_with_progress, store, found, progress))


@router.delete(
    "/online/rules/{name}",
    summary="Remove an online rule",
    dependencies=[require_role("admin")],
    response_model=RemovedRule,
    responses=errors(403, 404),
)
async def remove(request: Request, name: str = _NAME, principal: Principal = Depends(current_principal)) -> RemovedRule:
    """Remove the rule ``name``: nothing more is scored for it; its scores stay."""
    store: Store = request.app.state.store
    removed = await run_in_threadpool(remove_rule, store, name, read_scope(principal))
    if removed is None:
        raise HTTPException(404, f"no online rule named {name}")
    record_admin_action("remove_online_rule", removed.name, key_id=principal.key_id, store=store)
    return RemovedRule(removed=removed.name)


@router.get(
    "/online/rules/{name}/pending",
    summary="Finished traces in a rule's sample not scored yet (the evaluator's work)",
    response_model=PendingTraces,
    responses=errors(400, 403, 404),
)
async def pending(
    request: Request,
    name: str = _NAME,
    limit: int = Query(100, ge=1, le=1000),
    shard: int = Query(0, ge=0, description="This evaluator's share K of N (see shards); K >= N has no traces"),
    shards: int = Query(1, ge=1, le=1024, description="How many evaluators split the work"),
    settle: float = Query(1.0, ge=0, le=600, description="Seconds a trace must have ended before it is scored"),
    after: str | None = Query(
        None,
        pattern=r"^\d{1,19}:[0-9a-f]{32}$",
        description="END_UNIX_NANO:TRACE_ID of the last trace of the previous page: the next page starts after it",
    ),
    principal: Principal = require_role("read"),
) -> PendingTraces:
    """The oldest ``limit`` finished traces of the rule's sample without its score, with their spans."""
    store: Store = request.app.state.store
    scope: Scope = read_scope(principal)
    rule = await run_in_threadpool(find_rule, store, name, scope)
    if rule is None:
        raise HTTPException(404, f"no online rule named {name}")
    # 19 digits may pass Int64's end; no trace ends after it, so the largest Int64 means the same.
    cursor = (min(int(after.split(":")[0]), 2**63 - 1), after.split(":")[1]) if after else None
    traces = await run_in_threadpool(
        pending_traces, store, rule, limit=limit, shard=(shard, shards), settle=settle, scope=scope, after=cursor
    )
    return PendingTraces.model_validate({"rule": rule.public(), "traces": traces})
