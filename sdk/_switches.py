"""The kill switch in the agent's process: a background poller keeps the switches fresh, calls look them up.

A daemon thread long-polls ``GET /api/v1/switches`` (the collector answers as soon as a switch
flips, else after :data:`POLL_WAIT` seconds) and swaps in a new lookup table: a dict from agent
name to the (version, service, reason) of the switches that kill it. The call path reads that
dict and nothing else: no I/O, no lock. When the collector cannot be reached the poller retries
with backoff and the last known state stays in force (fail-open); with a fail-closed limit, calls
are blocked once no answer has come for longer than the limit.

The poller's loop and its HTTP are in :mod:`tracereel.sdk._poller`, loaded by the poller's thread.
It notes its connection's socket here, so that :func:`stop` can hang up: a stopped SDK does not
leave a long poll waiting on the collector, which would hold up the collector's own shutdown.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from collections.abc import Mapping
from typing import Final

__all__ = ["POLL_WAIT", "AgentDisabled", "blocked", "configure", "ensure_started", "state", "stop"]

logger = logging.getLogger("tracereel")

# Seconds the collector may hold a poll (it allows up to 30). Short, because a collector shutting
# down lets running requests finish first: agents still polling hold it up to this long. A kill
# does not wait for it (the collector answers a waiting poll at once); idle, it costs one small
# request per 5 s per process.
POLL_WAIT: Final = 5.0

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
    # Imported here, on the calling thread, and never on the poller's: a fork while the poller's
    # thread held an import lock would leave the child's own poller blocked on that lock forever.
    # (Not at `import tracereel`: by the time a poller starts, the OTLP exporter has loaded requests.)
    from tracereel.sdk._poller import poll

    with state.lock:
        if state.running or not state.enabled:
            return
        state.running = True
        state.generation += 1
        state.stopping = threading.Event()
        state.last_known = time.monotonic()
        state.version = None  # the first poll answers at once; the last known table stays until then
        thread = threading.Thread(
            target=poll, args=(state.generation, state.stopping), name="tracereel-kill-switch", daemon=True
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


def _after_fork() -> None:
    # The poller thread does not survive a fork: the child starts its own on its next call.
    state.running = False
    state.socket = None
    state.lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)
