"""The one HTTP client for the collector's API, used by every part that talks to it.

The CLI (replay, show, export, up, demo), the dashboard, the SDK's background pollers and the
eval upload all read the collector through :class:`CollectorClient`. Its address and key come
from the SDK's settings (:mod:`tracereel.sdk.settings`: ``TRACEREEL_ENDPOINT``, else the
standard ``OTEL_EXPORTER_OTLP_*`` variables, else http://127.0.0.1:4318; ``TRACEREEL_API_KEY``
as ``Authorization: Bearer``), so a part that works against a local collector also works
against a remote one that requires a key. It sends with ``requests`` (:mod:`tracereel.transport`),
already in the SDK's light install.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, TypeAdapter, ValidationError

from tracereel.constants import API_PREFIX, HEALTH_PATH, JSON
from tracereel.contracts.audit import AuditEntry, AuditLog
from tracereel.contracts.clusters import Cluster, Clusters
from tracereel.contracts.compare import Comparison
from tracereel.contracts.deletions import DeletedTrace
from tracereel.contracts.evals import EvalReport, EvalRunList, EvalRunStored, EvalRunSummary
from tracereel.contracts.health import Health
from tracereel.contracts.keys import CreatedKey, KeyList, KeyRequest, KeyView, Role
from tracereel.contracts.metrics import Breakdown, BreakdownBy, Metrics, Timeseries
from tracereel.contracts.monitors import (
    HistoryEntry,
    MonitorDefinition,
    MonitorHistory,
    MonitorList,
    MonitorView,
    MonitorWithState,
    RemovedMonitor,
)
from tracereel.contracts.online import PendingTraces, RemovedRule, RuleDefinition, RuleList, RuleView, RuleWithProgress
from tracereel.contracts.review import (
    Queue,
    QueueIn,
    QueueList,
    RemovedQueue,
    ReviewItem,
    ReviewItems,
    VerdictIn,
    VerdictStored,
)
from tracereel.contracts.scores import Score, ScoreBatch, ScoreIn, ScoresStored
from tracereel.contracts.switches import Kill, Selector, Switch, SwitchAnswer, Switches
from tracereel.contracts.traces import TRACE, Trace, TraceList, TraceSummary
from tracereel.sdk import settings
from tracereel.search import search_words
from tracereel.traces import parse_trace_id
from tracereel.transport import network_reason, session

__all__ = [
    "CollectorClient",
    "CollectorError",
    "CollectorUnavailable",
    "NotFound",
    "Unauthorized",
]


_Model = TypeVar("_Model", bound=BaseModel)
_T = TypeVar("_T")
_BREAKDOWN: TypeAdapter[Breakdown] = TypeAdapter(Breakdown)


class CollectorError(RuntimeError):
    """The collector answered with an error; the message is its explanation, for people."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CollectorUnavailable(CollectorError):
    """The collector cannot be reached at all (not running, wrong address, timed out).

    ``reason`` is the network's own word for it (``[Errno 111] Connection refused``, ...).
    """

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class NotFound(CollectorError):
    """The collector has no such resource (e.g. a trace id it does not know)."""


class Unauthorized(CollectorError):
    """The collector requires a key, and none or a wrong one was sent."""


class CollectorClient:
    """Typed calls to the collector's API; every failure is a :class:`CollectorError` with a message for people.

    ``endpoint`` and ``api_key`` default to the SDK's settings; an explicit argument wins.
    """

    def __init__(self, endpoint: str | None = None, *, api_key: str | None = None, timeout: float = 30.0) -> None:
        self.base_url = settings.collector_endpoint(endpoint)
        self.timeout = timeout
        self._headers = {"accept": JSON, **settings.headers(api_key)}
        self._http = session()  # kept: one connection serves a client's many requests

    def __repr__(self) -> str:  # never shows the key
        return f"CollectorClient({self.base_url!r})"

    # --- transport -------------------------------------------------------------------------

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        """Send one request and return the decoded JSON answer (None for an empty one)."""
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        url = self.base_url + path + (f"?{urllib.parse.urlencode(clean, doseq=True)}" if clean else "")
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body, default=str).encode("utf-8")
            headers["content-type"] = JSON
        try:
            response = self._http.request(method, url, data=data, headers=headers, timeout=self.timeout)
        except requests.Timeout:
            raise CollectorUnavailable(
                f"The collector at {self.base_url} did not answer within {self.timeout:g} s; it may be busy.",
                f"no answer within {self.timeout:g} s",
            ) from None
        except requests.RequestException as exc:
            reason = network_reason(exc)
            raise CollectorUnavailable(
                f"Cannot reach the collector at {self.base_url} ({reason}). Start one with `tracereel serve` "
                "(or `tracereel up`), or point at it with --collector URL or TRACEREEL_ENDPOINT.",
                reason,
            ) from None
        if response.status_code >= 400:
            raise self._error(response)
        raw = response.content
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise CollectorError(f"The collector at {self.base_url} did not answer JSON for {path}") from None

    def get(self, path: str, **params: Any) -> Any:
        """``GET path`` with query ``params`` (None and empty values left out)."""
        return self.request("GET", path, params)

    def post(self, path: str, body: Any) -> Any:
        """``POST path`` with a JSON body."""
        return self.request("POST", path, body=body)

    def _error(self, response: requests.Response) -> CollectorError:
        detail = ""
        try:
            answer = json.loads(response.content or b"{}")
            detail = str(answer.get("detail") or answer.get("message") or "")
        except (ValueError, AttributeError):
            pass
        status = response.status_code
        if status == 401:
            return Unauthorized(
                f"The collector at {self.base_url} refused the request: {detail or 'HTTP 401'}. "
                "Set TRACEREEL_API_KEY to a key it accepts.",
                401,
            )
        if status == 404:
            return NotFound(detail or f"not found: {response.url}", 404)
        return CollectorError(f"The collector answered HTTP {status}: {detail or response.reason}", status)

    # --- the API ---------------------------------------------------------------------------

    def _parsed(self, model: type[_Model], answer: Any, what: str) -> _Model:
        """``answer`` as ``model``; a :class:`CollectorError` naming ``what`` if it is not that shape."""
        try:
            return model.model_validate(answer)
        except ValidationError as exc:
            raise self._unknown_shape(what, exc) from None

    def _adapted(self, adapter: TypeAdapter[_T], answer: Any, what: str) -> _T:
        """Like :meth:`_parsed`, for shapes that are not models (TypedDicts, unions)."""
        try:
            return adapter.validate_python(answer)
        except ValidationError as exc:
            raise self._unknown_shape(what, exc) from None

    def _unknown_shape(self, what: str, exc: ValidationError) -> CollectorError:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the top"
        return CollectorError(
            f"The collector at {self.base_url} answered {what} in a shape this client does not know: "
            f"{first['msg']} at {where}"
        )

    def health(self) -> Health:
        """The collector's ``/healthz`` answer (needs no key)."""
        return self._parsed(Health, self.get(HEALTH_PATH), HEALTH_PATH)

    def wait_healthy(self, timeout: float = 60.0, poll: float = 0.1) -> bool:
        """Wait until the collector answers ``/healthz``; False if it did not within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.health()
                return True
            except CollectorError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(poll)

    def traces(self, **filters: Any) -> list[TraceSummary]:
        """Trace summaries newest first (``limit``, ``start``/``end``, ``service``, ``agent``, ``status``, ...).

        ``q``: only traces whose payloads contain every word of it (full-text search; the collector
        answers 400 for an empty or blank one or one over 1,000 characters; checked here first, as a
        :class:`CollectorError` with status 400, because an empty value is not sent at all).
        """
        if filters.get("q") is not None:
            try:
                search_words(str(filters["q"]))
            except ValueError as exc:
                raise CollectorError(str(exc), 400) from None
        path = f"{API_PREFIX}/traces"
        return self._parsed(TraceList, self.get(path, **_window(filters)), path).traces

    def trace(self, trace_id: str) -> Trace:
        """One trace with all its spans; :class:`NotFound` if the collector has none with this id, a
        :class:`CollectorError` (status 400) for a malformed id, before anything is sent."""
        try:
            wanted = parse_trace_id(trace_id)
        except ValueError as exc:
            raise CollectorError(str(exc), 400) from None
        try:
            trace = self.get(f"{API_PREFIX}/traces/{urllib.parse.quote(wanted)}")
        except NotFound as exc:
            raise NotFound(f"trace {wanted}: not found ({exc})", 404) from None
        return self._adapted(TRACE, trace, f"trace {wanted}")

    def delete_trace(self, trace_id: str) -> DeletedTrace:
        """Delete a trace everywhere (``DELETE /api/v1/traces/{id}``): ``{"trace_id", "deleted_spans"}``.

        :class:`NotFound` if the collector has no such trace; a malformed id is a :class:`CollectorError`
        (status 400) before anything is sent.
        """
        # Checked here as well as by the collector: an id with a "/" would reach another path
        # (servers decode %2F before routing) and come back as a confusing 404.
        try:
            wanted = parse_trace_id(trace_id)
        except ValueError as exc:
            raise CollectorError(str(exc), 400) from None
        path = f"{API_PREFIX}/traces/{wanted}"
        try:
            answer = self.request("DELETE", path)
        except NotFound as exc:
            raise NotFound(f"trace {wanted}: not found ({exc})", 404) from None
        return self._parsed(DeletedTrace, answer, path)

    def metrics(self, **filters: Any) -> Metrics:
        """Every metric over a window (``start``, ``end``, ``service``, ``agent``, ``version``)."""
        path = f"{API_PREFIX}/metrics"
        return self._parsed(Metrics, self.get(path, **_window(filters)), path)

    def timeseries(self, *, metric: str | None = None, bucket: str | None = None, **filters: Any) -> Timeseries:
        """The metrics per time bucket (only ``metric`` in each point when it is given)."""
        path = f"{API_PREFIX}/metrics/timeseries"
        return self._parsed(Timeseries, self.get(path, metric=metric, bucket=bucket, **_window(filters)), path)

    def compare(
        self,
        agent: str,
        baseline: str,
        canary: str,
        *,
        metrics: list[str] | None = None,
        tolerances: list[str] | None = None,
        min_samples: int | None = None,
        **filters: Any,
    ) -> Comparison:
        """The canary verdict (``GET /api/v1/compare``): ``{"verdict", "message", "metrics": {NAME: {...}}}``.

        ``tolerances`` are ``METRIC=X`` or ``METRIC=X%``; ``filters`` are ``start``, ``end``, ``service``.
        An answer that is not the verdict's shape is a :class:`CollectorError`.
        """
        answer = self.get(
            f"{API_PREFIX}/compare",
            agent=agent,
            baseline=baseline,
            canary=canary,
            metrics=",".join(metrics) if metrics else None,
            tolerance=list(tolerances or []) or None,
            min_samples=min_samples,
            **_window(filters),
        )
        return self._parsed(Comparison, answer, f"{API_PREFIX}/compare")

    def upload_eval_run(self, report: EvalReport | Mapping[str, Any]) -> EvalRunStored:
        """Store an eval report (``POST /api/v1/evals/runs``), a model or its JSON (checked against
        the model first: ValidationError names what is wrong); the collector answers its run id."""
        checked = report if isinstance(report, EvalReport) else EvalReport.model_validate(report)
        path = f"{API_PREFIX}/evals/runs"
        return self._parsed(EvalRunStored, self.post(path, checked.model_dump(mode="json")), path)

    def eval_runs(self, *, dataset: str | None = None, limit: int | None = None) -> list[EvalRunSummary]:
        """Stored eval runs newest first (``GET /api/v1/evals/runs``): summaries without their cases."""
        path = f"{API_PREFIX}/evals/runs"
        return self._parsed(EvalRunList, self.get(path, dataset=dataset, limit=limit), path).runs

    def eval_run(self, run_id: str) -> EvalReport:
        """One stored eval report (``GET /api/v1/evals/runs/{run_id}``); :class:`NotFound` if unknown."""
        path = f"{API_PREFIX}/evals/runs/{urllib.parse.quote(run_id)}"
        return self._parsed(EvalReport, self.get(path), path)

    def score(self, trace_id: str, name: str, value: float, **fields: Any) -> Score:
        """Score a trace (``POST /api/v1/scores``): ``label``, ``comment``, ``source``, ``author``, ``time``
        and ``id`` are optional (``id`` makes a retry replace the first post). :class:`NotFound` if the
        trace is unknown or another team's."""
        body = _body(ScoreIn, trace_id=trace_id, name=name, value=value, **fields)
        path = f"{API_PREFIX}/scores"
        return self._parsed(
            ScoresStored, self.post(path, body.model_dump(mode="json", exclude_none=True)), path
        ).scores[0]

    def post_scores(self, scores: list[ScoreIn]) -> list[Score]:
        """Store up to 1000 scores at once, all or none (``POST /api/v1/scores/batch``)."""
        path = f"{API_PREFIX}/scores/batch"
        body = ScoreBatch(scores=scores).model_dump(mode="json", exclude_none=True)
        return self._parsed(ScoresStored, self.post(path, body), path).scores

    def create_key(
        self, *, team: str, role: Role, agents: list[str] | None = None, services: list[str] | None = None
    ) -> CreatedKey:
        """Create an API key (admin key needed): its id, text (shown this once), team, role and globs.

        The request is checked here first, as the collector would: a :class:`CollectorError` (422) naming the field.
        """
        body = _body(KeyRequest, team=team, role=role, agents=agents or [], services=services or [])
        path = f"{API_PREFIX}/keys"
        return self._parsed(CreatedKey, self.post(path, body.model_dump()), path)

    def keys(self) -> list[KeyView]:
        """Every API key, revoked ones too (admin key needed); never their text."""
        path = f"{API_PREFIX}/keys"
        return self._parsed(KeyList, self.get(path), path).keys

    def revoke_key(self, key_id: str) -> KeyView:
        """Revoke an API key by id (admin key needed); :class:`NotFound` if unknown."""
        path = f"{API_PREFIX}/keys/{urllib.parse.quote(key_id, safe='')}"
        return self._parsed(KeyView, self.request("DELETE", path), path)

    def audit(self, *, limit: int | None = None) -> list[AuditEntry]:
        """The audit log of admin actions, newest first (admin key needed)."""
        path = f"{API_PREFIX}/audit"
        return self._parsed(AuditLog, self.get(path, limit=limit), path).entries

    def switches(self, *, since: str | None = None, wait: float | None = None) -> Switches:
        """The kill switches in force for this key: ``{"version", "switches": [...]}`` (``GET /api/v1/switches``).

        With ``since`` (a version from an earlier answer) and ``wait`` (seconds, at most 30), the
        collector answers as soon as the switches differ from ``since``, else after ``wait``:
        give the client a ``timeout`` longer than ``wait``.
        """
        path = f"{API_PREFIX}/switches"
        return self._parsed(Switches, self.get(path, since=since, wait=wait), path)

    def kill(self, agent: str, *, reason: str, version: str = "", service: str = "", team: str = "") -> Switch:
        """Kill ``agent`` (every version and service unless narrowed); needs an admin key. Returns the switch."""
        body = _body(Kill, agent=agent, version=version, service=service, team=team, reason=reason)
        path = f"{API_PREFIX}/switches"
        return self._parsed(SwitchAnswer, self.post(path, body.model_dump()), path).switch

    def revive(self, agent: str, *, version: str = "", service: str = "", team: str = "") -> Switch:
        """Revive the switch killed with exactly this selector; :class:`NotFound` if it is not killed."""
        body = _body(Selector, agent=agent, version=version, service=service, team=team)
        path = f"{API_PREFIX}/switches/revive"
        return self._parsed(SwitchAnswer, self.post(path, body.model_dump()), path).switch

    def add_monitor(self, definition: MonitorDefinition | Mapping[str, Any]) -> MonitorView:
        """Add a monitor (``POST /api/v1/monitors``, an admin key); answers the stored definition, secrets masked.

        A mapping is checked as a :class:`MonitorDefinition` first (a :class:`CollectorError`, 422, naming the field).
        """
        if not isinstance(definition, MonitorDefinition):
            definition = _body(MonitorDefinition, **definition)
        path = f"{API_PREFIX}/monitors"
        return self._parsed(MonitorView, self.post(path, definition.model_dump(exclude_none=True)), path)

    def monitors(self) -> list[MonitorWithState]:
        """Every monitor the key may see, each with its ``status`` (``GET /api/v1/monitors``)."""
        path = f"{API_PREFIX}/monitors"
        return self._parsed(MonitorList, self.get(path), path).monitors

    def remove_monitor(self, name: str) -> RemovedMonitor:
        """Remove a monitor (``DELETE /api/v1/monitors/{name}``); :class:`NotFound` if there is none."""
        path = f"{API_PREFIX}/monitors/{urllib.parse.quote(name, safe='')}"
        return self._parsed(RemovedMonitor, self.request("DELETE", path), path)

    def monitor_history(self, name: str, *, limit: int | None = None) -> list[HistoryEntry]:
        """A monitor's changes of state and delivery attempts, newest first; :class:`NotFound` if unknown."""
        path = f"{API_PREFIX}/monitors/{urllib.parse.quote(name, safe='')}/history"
        return self._parsed(MonitorHistory, self.get(path, limit=limit), path).history

    def breakdown(self, by: BreakdownBy, **filters: Any) -> Breakdown:
        """Rows per model, tool, agent (and version) or service: ``.rows`` of the type ``by`` names."""
        path = f"{API_PREFIX}/metrics/breakdown"
        return self._adapted(_BREAKDOWN, self.get(path, by=by, **_window(filters)), path)

    def add_online_rule(self, definition: RuleDefinition | Mapping[str, Any]) -> RuleView:
        """Add an online rule (``POST /api/v1/online/rules``, an admin key); answers the stored rule.

        A mapping is checked as a :class:`RuleDefinition` first (a :class:`CollectorError`, 422, naming the field).
        """
        if not isinstance(definition, RuleDefinition):
            definition = _body(RuleDefinition, **definition)
        path = f"{API_PREFIX}/online/rules"
        return self._parsed(RuleView, self.post(path, definition.model_dump(exclude_none=True)), path)

    def online_rules(self, *, progress: bool = True) -> list[RuleWithProgress]:
        """Every online rule the key may see, with its progress unless ``progress=False`` (``GET .../online/rules``)."""
        path = f"{API_PREFIX}/online/rules"
        return self._parsed(RuleList, self.get(path, progress="true" if progress else "false"), path).rules

    def remove_online_rule(self, name: str) -> RemovedRule:
        """Remove an online rule (``DELETE /api/v1/online/rules/{name}``); :class:`NotFound` if there is none."""
        path = f"{API_PREFIX}/online/rules/{urllib.parse.quote(name, safe='')}"
        return self._parsed(RemovedRule, self.request("DELETE", path), path)

    def online_pending(
        self,
        name: str,
        *,
        limit: int = 100,
        shard: int = 0,
        shards: int = 1,
        settle: float | None = None,
        after: str | None = None,
    ) -> PendingTraces:
        """The rule ``name`` and its oldest finished, sampled traces without its score, with their spans.

        ``after`` (``END_UNIX_NANO:TRACE_ID`` of a trace of the previous page) starts the page after it.
        """
        path = f"{API_PREFIX}/online/rules/{urllib.parse.quote(name, safe='')}/pending"
        answer = self.get(path, limit=limit, shard=shard, shards=shards, settle=settle, after=after)
        return self._parsed(PendingTraces, answer, path)

    # --- review queues (DESIGN.md "Production loop") ----------------------------------------

    def add_review_queue(self, name: str, when: str) -> Queue:
        """Add a review queue (an admin key); a malformed ``when`` is a 422 naming its position."""
        path = f"{API_PREFIX}/review/queues"
        body = _body(QueueIn, name=name, when=when)
        return self._parsed(Queue, self.post(path, body.model_dump()), path)

    def review_queues(self) -> list[Queue]:
        """The review queues the key may see, by name."""
        path = f"{API_PREFIX}/review/queues"
        return self._parsed(QueueList, self.get(path), path).queues

    def remove_review_queue(self, name: str) -> RemovedQueue:
        """Remove a review queue (an admin key); :class:`NotFound` if there is none."""
        path = f"{API_PREFIX}/review/queues/{urllib.parse.quote(name, safe='')}"
        return self._parsed(RemovedQueue, self.request("DELETE", path), path)

    def review_items(self, queue: str, *, state: str = "open", limit: int | None = None) -> list[ReviewItem]:
        """A queue's items, newest first: ``open`` (not reviewed yet) or ``done`` (with their verdicts)."""
        path = f"{API_PREFIX}/review/queues/{urllib.parse.quote(queue, safe='')}/items"
        return self._parsed(ReviewItems, self.get(path, state=state, limit=limit), path).items

    def review(
        self, queue: str, trace_id: str, verdict: str, *, expected: Any = None, note: str | None = None
    ) -> VerdictStored:
        """Give ``verdict`` (pass or fail) on a trace of ``queue``; reviewing again replaces it."""
        trace = parse_trace_id(trace_id)
        path = f"{API_PREFIX}/review/queues/{urllib.parse.quote(queue, safe='')}/items/{trace}"
        body = _body(VerdictIn, verdict=verdict, expected=expected, note=note)
        return self._parsed(VerdictStored, self.post(path, body.model_dump()), path)

    def clusters(
        self, *, window: str | None = None, agent: str | None = None, examples: int | None = None
    ) -> list[Cluster]:
        """The failure clusters of the last ``window`` (default 24h), of ``agent`` if given, largest first,
        each with up to ``examples`` trace ids (default 5)."""
        path = f"{API_PREFIX}/clusters"
        answer = self.get(path, window=window, agent=agent, examples=examples)
        return self._parsed(Clusters, answer, path).clusters


def _body(model: type[_Model], **fields: Any) -> _Model:
    """A request body checked before it is sent: what the collector would refuse is a 422 here too."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise CollectorError(f"invalid request: {problems}", 422) from None


def _window(filters: dict[str, Any]) -> dict[str, Any]:
    # ``from`` is a Python keyword: callers pass ``start``/``end`` (unix seconds or ISO text).
    out = dict(filters)
    if "start" in out:
        out["from"] = out.pop("start")
    if "end" in out:
        out["to"] = out.pop("end")
    return out
