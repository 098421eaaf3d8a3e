"""The kill switch in the agent's process: a background poller keeps the switches fresh, calls look them up.

A daemon thread long-polls ``GET /api/v1/switches`` (the collector answers as soon as a switch
flips, else after :data:`POLL_WAIT` seconds) and swaps in a new lookup table: a dict from agent
name to the (version, service, reason) of the switches that kill it. The call path reads that
dict and nothing else: no I/O, no lock. When the collector cannot be reached the poller retries
with backoff and the last known state stays in force (fail-open); with a fail-closed limit, calls
are blocked once no answer has come for longer than the limit.

The poller speaks HTTP with ``requests`` (:mod:`tracereel.transport`, like :mod:`tracereel.client`),
through an adapter that keeps the socket it opens, so that :func:`stop` can hang up: a stopped SDK
does not leave a long poll waiting on the collector, which would hold up the collector's own shutdown.
"""

from __future__ import annotations

import logging
import os
import random
import re
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any, Final, cast

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from tracereel.constants import API_PREFIX, JSON
from tracereel.sdk import settings
from tracereel.transport import network_reason, session

__all__ = ["POLL_WAIT", "AgentDisabled", "blocked", "configure", "ensure_started", "state", "stop"]

logger = logging.getLogger("tracereel")

# Seconds the collector may hold a poll (it allows up to 30). Short, because a collector shutting
# down lets running requests finish first: agents still polling hold it up to this long. A kill
# does not wait for it (the collector answers a waiting poll at once); idle, it costs one small
# request per 5 s per process.
POLL_WAIT: Final = 5.0
_MIN_BACKOFF: Final = 0.5
_MAX_BACKOFF: Final = 10.0

# agent name -> ((version, service, reason), ...); '' version or service matches every one.
Table = Mapping[str, tuple[tuple[str, str, str], ...]]


class AgentDisabled(Exception):
    """A kill switch stopped this ``@agent`` call: its body did not run.

    ``agent``, ``version`` and ``reason`` say which agent and why; the message has all three.
    Built from its message alone (how replay rebuilds a recorded exception), it reads them back
    from the message.
    """

    agent: str
    version: str | None
    reason: str

    def __init__(self, agent: str, version: str | None = None, reason: str | None = None) -> None:
        if reason is None:
            found = _MESSAGE.match(agent)
            agent, version, reason = found.groups() if found else (agent, None, "")  # pyright: ignore[reportAssignmentType]
        self.agent = agent
        self.version = version
        self.reason = reason or ""
        which = f"agent {agent!r}" + (f" version {version!r}" if version else "")
        super().__init__(f"{which} is disabled by a kill switch: {reason}")


_MESSAGE = re.compile(r"agent '(.*?)'(?: version '(.*?)')? is disabled by a kill switch: (.*)\Z", re.DOTALL)


# Its public name: spans record error.type as tracereel.AgentDisabled, which replay can import.
AgentDisabled.__module__ = "tracereel"


class _State:
    """What the call path reads (replaced whole, never mutated) and what the poller owns."""

    def __init__(self) -> None:
        self.table: Table = {}
        self.service = ""
        self.enabled = False
        self.fail_closed_after: float | None = None
        self.last_known = time.monotonic()  # when the state was last known (an answer, or the start)
        self.version: str | None = None
        self.answers = 0  # answers applied since the start: tests and the bench wait on it
        self.running = False
        self.generation = 0
        self.endpoint: str | None = None
        self.api_key: str | None = None
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.socket: socket.socket | None = None  # the poller's connection, for stop() to hang up


state = _State()


def blocked(name: str, version: str | None) -> str | None:
    """The reason calls of agent ``name`` at ``version`` are stopped, or None if they may run.

    The call path: a dict lookup, plus one clock read when fail-closed is configured.
    """
    table = state.table
    if table:
        entries = table.get(name)
        if entries:
            service = state.service
            for switch_version, switch_service, reason in entries:
                if (not switch_version or switch_version == version) and (
                    not switch_service or switch_service == service
                ):
                    return reason
    limit = state.fail_closed_after
    if limit is not None and time.monotonic() - state.last_known > limit:
        return (
            f"the kill switch state is unknown (no answer from the collector for more than {limit:g} s) and "
            "TRACEREEL_KILL_SWITCH_FAIL_CLOSED_AFTER blocks calls then"
        )
    return None


def configure(
    *, endpoint: str | None, api_key: str | None, service: str, enabled: bool, fail_closed_after: float | None
) -> None:
    """Apply the SDK's configuration: where to poll, for which service; (re)start or stop the poller."""
    stop()
    with state.lock:
        state.endpoint, state.api_key = endpoint, api_key
        state.service = service
        state.enabled = enabled
        # Only a running poller can make the state known again: with it off, nothing fails closed,
        # and no switch applies (the last known ones would never be lifted).
        state.fail_closed_after = fail_closed_after if enabled else None
        if not enabled:
            state.table, state.version = {}, None
    ensure_started()


def ensure_started() -> None:
    """Start the poller if it is enabled and not running (after a fork, the child starts its own)."""
    if state.running or not state.enabled:
        return
    with state.lock:
        if state.running or not state.enabled:
            return
        state.running = True
        state.generation += 1
        state.stopping = threading.Event()
        state.last_known = time.monotonic()
        state.version = None  # the first poll answers at once; the last known table stays until then
        thread = threading.Thread(
            target=_poll, args=(state.generation, state.stopping), name="tracereel-kill-switch", daemon=True
        )
    thread.start()


def stop() -> None:
    """Stop the poller and hang up its long poll; the last known switches stay in force."""
    with state.lock:
        if not state.running:
            return
        state.running = False
        state.generation += 1
        state.stopping.set()
        sock, state.socket = state.socket, None
    if sock is not None:
        try:
            # Wakes the poller's blocked read, and the collector sees the poll end.
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


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


def _after_fork() -> None:
    # The poller thread does not survive a fork: the child starts its own on its next call.
    state.running = False
    state.socket = None
    state.lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


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


def _poll(generation: int, stopping: threading.Event) -> None:
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
