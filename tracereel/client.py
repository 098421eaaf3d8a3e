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
import re
import time
import urllib.parse
from typing import Any, cast

import requests

from tracereel.constants import API_PREFIX, HEALTH_PATH, JSON
from tracereel.sdk import settings
from tracereel.traces import Trace, TraceSummary
from tracereel.transport import network_reason, session

__all__ = [
    "CollectorClient",
    "CollectorError",
    "CollectorUnavailable",
    "NotFound",
    "Unauthorized",
]

# A trace id as the collector keeps it (collector/query/params.py checks the same).
_TRACE_ID = re.compile(r"[0-9a-f]{32}")


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
        """One trace with all its spans; :class:`NotFound` if the collector has none with this id."""
        wanted = trace_id.strip().lower()
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
        wanted = trace_id.strip().lower()
        # Checked here as well as by the collector: an id with a "/" would reach another path
        # (servers decode %2F before routing) and come back as a confusing 404.
        if not _TRACE_ID.fullmatch(wanted):
            raise CollectorError(f"trace id {trace_id!r} is not 32 hex digits", 400)
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

    def upload_eval_run(self, report: dict[str, Any]) -> dict[str, Any]:
        """Store an eval report (``POST /api/v1/evals/runs``); the collector answers ``{"run_id"}``."""
        return cast(dict[str, Any], self.post(f"{API_PREFIX}/evals/runs", report))

    def eval_runs(self, *, dataset: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored eval runs newest first (``GET /api/v1/evals/runs``): summaries without their cases."""
        return cast(list[dict[str, Any]], self.get(f"{API_PREFIX}/evals/runs", dataset=dataset, limit=limit)["runs"])

    def eval_run(self, run_id: str) -> dict[str, Any]:
        """One stored eval report (``GET /api/v1/evals/runs/{run_id}``); :class:`NotFound` if unknown."""
        return cast(dict[str, Any], self.get(f"{API_PREFIX}/evals/runs/{urllib.parse.quote(run_id)}"))

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
