"""The kill-switch poller's thread: long-poll ``GET /api/v1/switches`` and apply each answer to :data:`state`.

It speaks HTTP with ``requests`` (:mod:`tracereel.transport`, like :mod:`tracereel.client`),
through an adapter whose connections note their socket in :data:`state`, so that
:func:`tracereel.sdk._switches.stop` can hang up a poll in flight. Loaded only when a poller
starts: ``import tracereel`` does not import ``requests``.
"""

from __future__ import annotations

import importlib
import logging
import random
import threading
import time
from typing import Any, Final, cast

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from tracereel.constants import API_PREFIX, JSON
from tracereel.sdk import settings
from tracereel.sdk._switches import POLL_WAIT, Table, state
from tracereel.transport import network_reason, session

__all__ = ["poll"]

# Imported now, on the thread that starts the poller (sdk/_switches.py ensure_started): requests
# imports netrc inside each request, and the socket module the idna codec for the host. Imported
# on the poller's thread instead, a fork during its first request would leave the child holding
# an import lock no thread of it will release, and the child's poller would hang on it forever.
for _module in ("netrc", "encodings.idna"):
    importlib.import_module(_module)

logger = logging.getLogger("tracereel")

# Seconds between polls while the collector is away: doubling from the first to the second, with jitter.
_MIN_BACKOFF: Final = 0.5
_MAX_BACKOFF: Final = 10.0


class _KeptHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        with state.lock:
            state.socket = self.sock


class _KeptHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        with state.lock:
            state.socket = self.sock


# urllib3 declares ConnectionCls as a protocol its own connection classes do not match statically.
class _KeptHTTPPool(HTTPConnectionPool):
    ConnectionCls = _KeptHTTPConnection  # pyright: ignore[reportAssignmentType]


class _KeptHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _KeptHTTPSConnection  # pyright: ignore[reportAssignmentType]


class _KeepSocketAdapter(HTTPAdapter):
    """Opens connections that note their socket in :data:`state`, so :func:`stop` can hang up a poll in flight.

    ``requests`` gives no handle on a request in progress; urllib3's connection class is its
    documented point of extension.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _KeptHTTPPool, "https": _KeptHTTPSPool}


class _PollError(Exception):
    """A poll failed in an expected way (collector down, refused the key, answered nonsense).

    ``unreachable``: no answer at all. Fail-open, that is only worth an INFO line: the exporter
    already warns that the collector is down, and nothing changes for the agent.
    """

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def _get(http: requests.Session, url: str, params: dict[str, str], timeout: float) -> dict[str, Any]:
    try:
        response = http.get(url, params=params, timeout=timeout)
    except requests.RequestException as exc:
        raise _PollError(f"cannot reach the collector ({network_reason(exc)})", unreachable=True) from None
    if response.status_code != 200:
        detail = response.content[:200].decode("utf-8", "replace")
        raise _PollError(f"the collector answered HTTP {response.status_code} to {API_PREFIX}/switches: {detail}")
    try:
        answer = response.json()
    except ValueError:
        raise _PollError(f"the collector's answer to {API_PREFIX}/switches is not JSON") from None
    if not isinstance(answer, dict):
        raise _PollError(f"the collector's answer to {API_PREFIX}/switches is not a JSON object")
    return cast(dict[str, Any], answer)


def _table(answer: dict[str, Any]) -> tuple[Table, str]:
    """The lookup table and the version from an answer; _PollError if it is not what the API sends."""
    version = answer.get("version")
    switches = answer.get("switches")
    if not isinstance(version, str) or not isinstance(switches, list):
        raise _PollError("the collector's answer has no version and switches")
    table: dict[str, list[tuple[str, str, str]]] = {}
    for item in cast(list[Any], switches):
        if not isinstance(item, dict):
            raise _PollError("a switch in the collector's answer is not an object")
        switch = cast(dict[str, Any], item)
        agent = switch.get("agent")
        if not isinstance(agent, str) or not agent:
            raise _PollError("a switch in the collector's answer names no agent")
        entry = (str(switch.get("version") or ""), str(switch.get("service") or ""), str(switch.get("reason") or ""))
        table.setdefault(agent, []).append(entry)
    return {name: tuple(entries) for name, entries in table.items()}, version


def poll(generation: int, stopping: threading.Event) -> None:
    """The poller thread: long-poll, apply each answer, back off while the collector is away."""
    base = settings.collector_endpoint(state.endpoint)
    url = f"{base}{API_PREFIX}/switches"
    http = session()
    http.headers.update({"accept": JSON, **settings.headers(state.api_key)})
    http.mount("http://", _KeepSocketAdapter(max_retries=0))
    http.mount("https://", _KeepSocketAdapter(max_retries=0))
    try:
        _poll_with(http, base, url, generation, stopping)
    finally:
        http.close()


def _poll_with(http: requests.Session, base: str, url: str, generation: int, stopping: threading.Event) -> None:
    delay = _MIN_BACKOFF
    trouble: str | None = None
    # Answers must come more often than the fail-closed limit, or an unchanged state would block calls.
    limit = state.fail_closed_after
    wait = POLL_WAIT if limit is None else max(0.1, min(POLL_WAIT, limit / 3))
    retry_now = True
    while not stopping.is_set():
        with state.lock:
            if state.generation != generation:
                return
        query = {"since": state.version, "wait": f"{wait:g}"} if state.version else {}
        try:
            table, version = _table(_get(http, url, query, POLL_WAIT + 10))
        except _PollError as exc:
            if stopping.is_set():
                return
            if retry_now and trouble is None:
                retry_now = False  # the collector may have closed an idle kept-alive connection: once, at once
                continue
            if trouble is None:
                # Once per outage; the agent keeps running on the last known switches.
                level = logging.INFO if exc.unreachable and limit is None else logging.WARNING
                logger.log(level, "tracereel: kill switches not updated from %s: %s; retrying", base, exc)
            trouble = str(exc)
            stopping.wait(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, _MAX_BACKOFF)
            continue
        except Exception:
            from tracereel.sdk._runtime import internal_error

            internal_error("polling the kill switches")
            stopping.wait(_MAX_BACKOFF)
            continue
        with state.lock:
            if state.generation != generation:
                return
            state.table, state.version = table, version
            state.last_known = time.monotonic()
            state.answers += 1
        if trouble is not None:
            logger.info("tracereel: kill switches updated from %s again", base)
            trouble = None
        delay = _MIN_BACKOFF
        retry_now = True
