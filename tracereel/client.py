"""The one HTTP client for the collector's API, used by every part that talks to it.

The CLI (replay, show, export, up, demo), the dashboard, the SDK's background pollers and the
eval upload all read the collector through :class:`CollectorClient`. Its address and key come
from the SDK's settings (:mod:`tracereel.sdk.settings`: ``TRACEREEL_ENDPOINT``, else the
standard ``OTEL_EXPORTER_OTLP_*`` variables, else http://127.0.0.1:4318; ``TRACEREEL_API_KEY``
as ``Authorization: Bearer``), so a part that works against a local collector also works
against a remote one that requires a key. Standard library only: the base install stays light.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from tracereel.constants import API_PREFIX, HEALTH_PATH, JSON, VERSION
from tracereel.sdk import settings
from tracereel.traces import Trace, TraceSummary, parse_trace_id

if TYPE_CHECKING:
    # Types only: the contracts (pydantic) load when a method that returns one is called, so the
    # SDK, which polls through this client, stays free of them.
    from pydantic import BaseModel

    from tracereel.contracts.evals import EvalReport, EvalRunStored, EvalRunSummary

    _Model = TypeVar("_Model", bound=BaseModel)

__all__ = [
    "CollectorClient",
    "CollectorError",
    "CollectorUnavailable",
    "NotFound",
    "Unauthorized",
]


def _parsed(model: type[_Model], answer: Any) -> _Model:
    """``answer`` as ``model``; a :class:`CollectorError` if the collector answered another shape."""
    from pydantic import ValidationError

    try:
        return model.model_validate(answer)
    except ValidationError as exc:
        raise CollectorError(f"the collector's answer is not a {model.__name__}: {exc}") from None


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
        self._headers = {"accept": JSON, "user-agent": f"tracereel/{VERSION}", **settings.headers(api_key)}

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
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise self._error(exc) from None
        except TimeoutError:
            raise CollectorUnavailable(
                f"The collector at {self.base_url} did not answer within {self.timeout:g} s; it may be busy.",
                f"no answer within {self.timeout:g} s",
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise CollectorUnavailable(
                f"Cannot reach the collector at {self.base_url} ({reason}). Start one with `tracereel serve` "
                "(or `tracereel up`), or point at it with --collector URL or TRACEREEL_ENDPOINT.",
                str(reason),
            ) from None
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

    def _error(self, exc: urllib.error.HTTPError) -> CollectorError:
        detail = ""
        try:
            answer = json.loads(exc.read() or b"{}")
            detail = str(answer.get("detail") or answer.get("message") or "")
        except (ValueError, AttributeError, OSError):
            pass
        if exc.code == 401:
            return Unauthorized(
                f"The collector at {self.base_url} refused the request: {detail or 'HTTP 401'}. "
                "Set TRACEREEL_API_KEY to a key it accepts.",
                401,
            )
        if exc.code == 404:
            return NotFound(detail or f"not found: {exc.url}", 404)
        return CollectorError(f"The collector answered HTTP {exc.code}: {detail or exc.reason}", exc.code)

    # --- the API ---------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The collector's ``/healthz`` answer (needs no key)."""
        return cast(dict[str, Any], self.get(HEALTH_PATH))

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
        """Trace summaries newest first (``limit``, ``start``/``end``, ``service``, ``agent``, ``status``, ...)."""
        return cast(list[TraceSummary], self.get(f"{API_PREFIX}/traces", **_window(filters))["traces"])

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
        if not isinstance(trace, dict) or not isinstance(cast(dict[str, Any], trace).get("spans"), list):
            raise CollectorError(f"trace {wanted}: the collector's answer has no spans")
        return cast(Trace, trace)

    def delete_trace(self, trace_id: str) -> dict[str, Any]:
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
        try:
            return cast(dict[str, Any], self.request("DELETE", f"{API_PREFIX}/traces/{wanted}"))
        except NotFound as exc:
            raise NotFound(f"trace {wanted}: not found ({exc})", 404) from None

    def metrics(self, **filters: Any) -> dict[str, Any]:
        """Every metric over a window (``start``, ``end``, ``service``, ``agent``, ``version``)."""
        return cast(dict[str, Any], self.get(f"{API_PREFIX}/metrics", **_window(filters)))

    def timeseries(self, *, metric: str | None = None, bucket: str | None = None, **filters: Any) -> dict[str, Any]:
        """The metrics per time bucket."""
        return cast(
            dict[str, Any],
            self.get(f"{API_PREFIX}/metrics/timeseries", metric=metric, bucket=bucket, **_window(filters)),
        )

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
    ) -> dict[str, Any]:
        """The canary verdict (``GET /api/v1/compare``): ``{"verdict", "message", "metrics": {NAME: {...}}}``.

        ``tolerances`` are ``METRIC=X`` or ``METRIC=X%``; ``filters`` are ``start``, ``end``, ``service``.
        """
        return cast(
            dict[str, Any],
            self.get(
                f"{API_PREFIX}/compare",
                agent=agent,
                baseline=baseline,
                canary=canary,
                metrics=",".join(metrics) if metrics else None,
                tolerance=list(tolerances or []) or None,
                min_samples=min_samples,
                **_window(filters),
            ),
        )

    def upload_eval_run(self, report: EvalReport | Mapping[str, Any]) -> EvalRunStored:
        """Store an eval report (``POST /api/v1/evals/runs``), a model or its JSON (checked against
        the model first: ValidationError names what is wrong); the collector answers its run id."""
        from tracereel.contracts.evals import EvalReport, EvalRunStored

        checked = report if isinstance(report, EvalReport) else EvalReport.model_validate(report)
        answer = self.post(f"{API_PREFIX}/evals/runs", checked.model_dump(mode="json"))
        return _parsed(EvalRunStored, answer)

    def eval_runs(self, *, dataset: str | None = None, limit: int | None = None) -> list[EvalRunSummary]:
        """Stored eval runs newest first (``GET /api/v1/evals/runs``): summaries without their cases."""
        from tracereel.contracts.evals import EvalRunList

        return _parsed(EvalRunList, self.get(f"{API_PREFIX}/evals/runs", dataset=dataset, limit=limit)).runs

    def eval_run(self, run_id: str) -> EvalReport:
        """One stored eval report (``GET /api/v1/evals/runs/{run_id}``); :class:`NotFound` if unknown."""
        from tracereel.contracts.evals import EvalReport

        return _parsed(EvalReport, self.get(f"{API_PREFIX}/evals/runs/{urllib.parse.quote(run_id)}"))

    def create_key(
        self, *, team: str, role: str, agents: list[str] | None = None, services: list[str] | None = None
    ) -> dict[str, Any]:
        """Create an API key (admin key needed): its id, text (shown this once), team, role and globs."""
        body = {"team": team, "role": role, "agents": agents or [], "services": services or []}
        return cast(dict[str, Any], self.post(f"{API_PREFIX}/keys", body))

    def keys(self) -> list[dict[str, Any]]:
        """Every API key, revoked ones too (admin key needed); never their text."""
        return cast(list[dict[str, Any]], self.get(f"{API_PREFIX}/keys")["keys"])

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        """Revoke an API key by id (admin key needed); :class:`NotFound` if unknown."""
        return cast(dict[str, Any], self.request("DELETE", f"{API_PREFIX}/keys/{urllib.parse.quote(key_id, safe='')}"))

    def audit(self, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The audit log of admin actions, newest first (admin key needed)."""
        return cast(list[dict[str, Any]], self.get(f"{API_PREFIX}/audit", limit=limit)["entries"])

    def switches(self, *, since: str | None = None, wait: float | None = None) -> dict[str, Any]:
        """The kill switches in force for this key: ``{"version", "switches": [...]}`` (``GET /api/v1/switches``).

        With ``since`` (a version from an earlier answer) and ``wait`` (seconds, at most 30), the
        collector answers as soon as the switches differ from ``since``, else after ``wait``:
        give the client a ``timeout`` longer than ``wait``.
        """
        return cast(dict[str, Any], self.get(f"{API_PREFIX}/switches", since=since, wait=wait))

    def kill(self, agent: str, *, reason: str, version: str = "", service: str = "", team: str = "") -> dict[str, Any]:
        """Kill ``agent`` (every version and service unless narrowed); needs an admin key. Returns the switch."""
        body = {"agent": agent, "version": version, "service": service, "team": team, "reason": reason}
        return cast(dict[str, Any], self.post(f"{API_PREFIX}/switches", body)["switch"])

    def revive(self, agent: str, *, version: str = "", service: str = "", team: str = "") -> dict[str, Any]:
        """Revive the switch killed with exactly this selector; :class:`NotFound` if it is not killed."""
        body = {"agent": agent, "version": version, "service": service, "team": team}
        return cast(dict[str, Any], self.post(f"{API_PREFIX}/switches/revive", body)["switch"])

    def add_monitor(self, definition: dict[str, Any]) -> dict[str, Any]:
        """Add a monitor (``POST /api/v1/monitors``, an admin key); answers the stored definition, secrets masked."""
        return cast(dict[str, Any], self.post(f"{API_PREFIX}/monitors", definition))

    def monitors(self) -> list[dict[str, Any]]:
        """Every monitor the key may see, each with its ``status`` (``GET /api/v1/monitors``)."""
        return cast(list[dict[str, Any]], self.get(f"{API_PREFIX}/monitors")["monitors"])

    def remove_monitor(self, name: str) -> dict[str, Any]:
        """Remove a monitor (``DELETE /api/v1/monitors/{name}``); :class:`NotFound` if there is none."""
        return cast(
            dict[str, Any], self.request("DELETE", f"{API_PREFIX}/monitors/{urllib.parse.quote(name, safe='')}")
        )

    def monitor_history(self, name: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """A monitor's changes of state and delivery attempts, newest first; :class:`NotFound` if unknown."""
        path = f"{API_PREFIX}/monitors/{urllib.parse.quote(name, safe='')}/history"
        return cast(list[dict[str, Any]], self.get(path, limit=limit)["history"])

    def breakdown(self, by: str, **filters: Any) -> list[dict[str, Any]]:
        """Rows per model, tool, agent (and version) or service."""
        return cast(
            list[dict[str, Any]], self.get(f"{API_PREFIX}/metrics/breakdown", by=by, **_window(filters))["rows"]
        )


def _window(filters: dict[str, Any]) -> dict[str, Any]:
    # ``from`` is a Python keyword: callers pass ``start``/``end`` (unix seconds or ISO text).
    out = dict(filters)
    if "start" in out:
        out["from"] = out.pop("start")
    if "end" in out:
        out["to"] = out.pop("end")
    return out
