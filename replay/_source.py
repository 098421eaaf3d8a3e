"""Where traces come from: the collector's read API (plain urllib, no server dependencies) or a file."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tracereel.replay._tape import CannotReplay

__all__ = ["FILE_FORMAT", "default_collector", "export_trace", "fetch_trace", "list_traces", "load_file"]

FILE_FORMAT = "tracereel-trace/1"
_DEFAULT_COLLECTOR = "http://127.0.0.1:4318"


def default_collector() -> str:
    """``TRACEREEL_ENDPOINT`` if set, else http://127.0.0.1:4318."""
    return (os.environ.get("TRACEREEL_ENDPOINT") or "").strip() or _DEFAULT_COLLECTOR


def _get(url: str, what: str, timeout: float = 30.0) -> Any:
    request = urllib.request.Request(url, headers={"accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = ""
        try:
            detail = json.loads(exc.read()).get("detail", "")
        except Exception:
            pass
        if exc.code == 404:
            raise CannotReplay(f"{what}: not found ({detail or 'HTTP 404'})") from None
        raise CannotReplay(f"{what}: the collector answered HTTP {exc.code} {detail}".rstrip()) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CannotReplay(f"{what}: cannot reach the collector at {url.split('/api/')[0]} ({reason})") from None
    except ValueError:
        raise CannotReplay(f"{what}: the collector did not answer JSON") from None


def fetch_trace(trace_id: str, collector: str | None = None) -> dict[str, Any]:
    """One trace from the collector's read API (``GET /api/v1/traces/{id}``)."""
    base = (collector or default_collector()).rstrip("/")
    wanted = trace_id.strip().lower()
    trace = _get(f"{base}/api/v1/traces/{urllib.parse.quote(wanted)}", f"trace {wanted}")
    if not isinstance(trace, dict) or not isinstance(trace.get("spans"), list):
        raise CannotReplay(f"trace {wanted}: the collector's answer has no spans")
    return trace


def list_traces(
    collector: str | None = None,
    *,
    since: str | None = None,
    until: str | None = None,
    agent: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Trace summaries from ``GET /api/v1/traces`` (newest first)."""
    base = (collector or default_collector()).rstrip("/")
    query = {"limit": str(limit)}
    if since:
        query["from"] = since
    if until:
        query["to"] = until
    if agent:
        query["agent"] = agent
    answer = _get(f"{base}/api/v1/traces?{urllib.parse.urlencode(query)}", "listing traces")
    return list(answer.get("traces") or [])


def load_file(path: str | Path) -> dict[str, Any]:
    """A trace written by ``tracereel export`` (or the read API's JSON saved to a file)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CannotReplay(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CannotReplay(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("spans"), list):
        raise CannotReplay(f"{path} is not a tracereel trace file (no 'spans' list)")
    return data


def export_trace(trace: dict[str, Any], path: str | Path, *, source: str | None = None) -> Path:
    """Write ``trace`` as a self-contained file that ``tracereel replay --file`` reads back."""
    document = {"format": FILE_FORMAT, "source": source, **trace}
    target = Path(path)
    target.write_text(json.dumps(document, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return target
