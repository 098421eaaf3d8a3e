"""The dashboard's only way to the data: the collector's HTTP read and metrics API."""

from __future__ import annotations

import os
from typing import Any, Final

import httpx

__all__ = [
    "DEFAULT_COLLECTOR",
    "ENV_VAR",
    "CollectorClient",
    "CollectorError",
    "CollectorUnavailable",
    "TraceNotFound",
    "collector_url",
]

ENV_VAR: Final = "TRACEREEL_DASHBOARD_COLLECTOR"
DEFAULT_COLLECTOR: Final = "http://127.0.0.1:4318"


def collector_url() -> str:
    """The collector to read from: ``TRACEREEL_DASHBOARD_COLLECTOR`` (set by ``tracereel dashboard``),
    else ``TRACEREEL_ENDPOINT``, else the local default."""
    url = os.environ.get(ENV_VAR) or os.environ.get("TRACEREEL_ENDPOINT") or DEFAULT_COLLECTOR
    return url.rstrip("/")


class CollectorError(RuntimeError):
    """The collector answered with an error; the message is its explanation."""


class CollectorUnavailable(CollectorError):
    """The collector cannot be reached at all."""


class TraceNotFound(CollectorError):
    """The collector has no trace with the requested id."""


class CollectorClient:
    """Typed calls to the collector's API; every failure is a CollectorError with a message for people."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, api_key: str | None = None) -> None:
        """``api_key`` defaults to ``TRACEREEL_API_KEY``, the key the collector and the SDK also read."""
        self.base_url = base_url.rstrip("/")
        if api_key is None:
            api_key = os.environ.get("TRACEREEL_API_KEY") or None
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            response = self._http.get(path, params=clean)
        except httpx.TimeoutException:
            raise CollectorUnavailable(
                f"The collector at {self.base_url} did not answer in time. It may be busy; try again."
            ) from None
        except httpx.HTTPError as exc:
            raise CollectorUnavailable(
                f"Cannot reach the collector at {self.base_url} ({type(exc).__name__}). "
                "Start it with `tracereel serve` (or `tracereel up`), or point the dashboard at it with "
                "`tracereel dashboard --collector URL`."
            ) from None
        if response.status_code == 404 and path.startswith("/api/v1/traces/"):
            raise TraceNotFound(_detail(response))
        if response.status_code >= 400:
            raise CollectorError(f"The collector answered {response.status_code}: {_detail(response)}")
        return response.json()

    def health(self) -> dict[str, Any]:
        """The collector's /healthz answer."""
        return self._get("/healthz")

    def metrics(self, **filters: Any) -> dict[str, Any]:
        """Every metric over a window (``from``, ``to``, ``service``, ``agent``, ``version``)."""
        return self._get("/api/v1/metrics", _window(filters))

    def timeseries(self, *, metric: str | None = None, bucket: str | None = None, **filters: Any) -> dict[str, Any]:
        """The metrics per time bucket."""
        return self._get("/api/v1/metrics/timeseries", {"metric": metric, "bucket": bucket, **_window(filters)})

    def breakdown(self, by: str, **filters: Any) -> list[dict[str, Any]]:
        """Rows per model, tool, agent (and version) or service."""
        return self._get("/api/v1/metrics/breakdown", {"by": by, **_window(filters)})["rows"]

    def traces(self, **filters: Any) -> list[dict[str, Any]]:
        """Traces newest first (``limit``, ``from``, ``to``, ``service``, ``agent``, ``status``)."""
        return self._get("/api/v1/traces", _window(filters))["traces"]

    def trace(self, trace_id: str) -> dict[str, Any]:
        """One trace with all its spans; TraceNotFound if the collector has none with this id."""
        return self._get(f"/api/v1/traces/{trace_id.strip()}")


def _window(filters: dict[str, Any]) -> dict[str, Any]:
    # ``from`` is a Python keyword: callers pass ``start``/``end`` (unix seconds or ISO text).
    out = dict(filters)
    if "start" in out:
        out["from"] = out.pop("start")
    if "end" in out:
        out["to"] = out.pop("end")
    return out


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    return str(detail) if detail else response.text[:300] or response.reason_phrase
