"""The monitor runner: evaluates every monitor every ``monitor_interval`` seconds and delivers notifications.

One thread evaluates (store reads through the metrics engine, then one write of every monitor's
state); a small pool of threads delivers, one delivery job per monitor at a time, so a receiver
that hangs or keeps failing delays nobody else's evaluation or notification.

What fires and what is sent:

* a monitor whose value crosses its threshold (with at least ``min_tasks`` behind it) goes from
  ok (or insufficient) to firing: a new incident, a new dedup key, and one ``trigger`` to deliver;
* while it stays firing nothing more is sent, however many evaluations pass;
* when the value is back on the right side it goes to ok: one ``resolve``, if the trigger was
  delivered (a trigger never delivered has nothing to resolve, and is dropped);
* too few tasks (or no value) judges nothing: an ok monitor shows ``insufficient``, a firing one
  stays firing (traffic stopping is not a recovery).

Every change of state and every delivery attempt is written to the monitor's history, and the
state (including which action the receiver has accepted and which is still pending) is written
before anything is sent and again after each attempt. One lock guards the states in memory; rows
are taken (and stamped) under it and written after it, so no thread waits on another's store
write, and the newest stamp wins whichever insert lands first. A restart therefore resumes: a
delivered page is not sent again, an undelivered one is retried. A crash between a receiver
accepting a notification and the write that records it sends it once more on restart; the dedup
key lets PagerDuty (and any receiver that wants to) fold the repeat.

Retries follow urllib3's ``Retry`` policy (:func:`~tracereel.collector.monitors.notify.retry_policy`),
applied here attempt by attempt rather than inside one ``requests`` call: each attempt is
recorded as it happens, and a wait is cut short when the pending action changes or the runner stops.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from typing import Final, cast

import requests
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from tracereel.collector.monitors.definitions import Action, Monitor, MonitorState, State
from tracereel.collector.monitors.evaluate import Reading, read_metric
from tracereel.collector.monitors.notify import MAX_BACKOFF, notification_body, retry_policy, send
from tracereel.collector.monitors.repository import (
    HistoryEntry,
    add_history,
    list_monitors,
    load_states,
    save_state_rows,
    state_rows,
)
from tracereel.collector.query import PriceError, load_prices
from tracereel.collector.store import Store
from tracereel.transport import session

__all__ = ["MonitorRunner", "judge"]

logger = logging.getLogger("tracereel.collector.monitors")

_DELIVERY_THREADS: Final = 4


def _dedup_key(monitor: Monitor, incident: int) -> str:
    # Stable across restarts, new for each incident, and unique to this monitor (not only its name).
    return f"tracereel-{monitor.name}-{monitor.monitor_id[:8]}-{incident}"


def judge(monitor: Monitor, state: MonitorState, reading: Reading, now: datetime) -> list[HistoryEntry]:
    """Update ``state`` (in place) from ``reading``; returns the history entries the change makes (none if none)."""
    state.value, state.tasks, state.evaluated_at = reading.value, reading.count, now
    if reading.value is None or reading.count < monitor.min_tasks:
        new: State = "firing" if state.state == "firing" else "insufficient"
    else:
        new = "firing" if monitor.breached(reading.value) else "ok"
    if new == state.state:
        return []
    old, state.state, state.since = state.state, new, now
    entries = [HistoryEntry.now(monitor, "state", state=new, value=reading.value, tasks=reading.count)]
    if new == "firing":
        state.incident += 1
        state.dedup_key = _dedup_key(monitor, state.incident)
        state.notified, state.pending = "", "trigger"
    elif old == "firing":
        if state.notified == "trigger":
            state.pending = "resolve"
        else:
            state.pending = ""
            entries.append(
                HistoryEntry.now(
                    monitor,
                    "delivery",
                    action="resolve",
                    dedup_key=state.dedup_key,
                    outcome="skipped",
                    error="the trigger was never delivered, so there is nothing to resolve",
                )
            )
    return entries


class MonitorRunner:
    """Evaluates the store's monitors every ``interval`` seconds in a thread, and delivers their notifications.

    ``max_attempts`` deliveries per notification at most, ``backoff`` seconds before the first
    retry, doubling each time (at most 5 minutes; longer if the receiver's Retry-After says so).
    """

    def __init__(
        self,
        store: Store,
        *,
        interval: float,
        prices: str | None = None,
        max_attempts: int = 5,
        backoff: float = 2.0,
        timeout: float = 10.0,
    ) -> None:
        self._store = store
        self._interval = interval
        self._prices = prices
        self._policy = retry_policy(max_attempts, backoff)
        self._backoff = backoff
        self._timeout = timeout
        self._lock = threading.Lock()  # guards the states in memory; never held across I/O
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._http: requests.Session | None = None
        self._monitors: dict[str, Monitor] = {}
        self._states: dict[str, MonitorState] = {}
        self._delivering: set[str] = set()
        # Set to cut a delivery job's backoff short: its monitor's pending action changed, or the runner stops.
        self._wakes: dict[str, threading.Event] = {}
        self.cycles = 0  # evaluations completed since start (read by tests and /healthz)

    def start(self) -> None:
        """Start evaluating (the first evaluation runs at once)."""
        self._stop.clear()
        self._http = session()
        self._pool = ThreadPoolExecutor(_DELIVERY_THREADS, thread_name_prefix="tracereel-notify")
        self._thread = threading.Thread(target=self._loop, name="tracereel-monitors", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop evaluating and delivering; what is not yet delivered stays pending in the store."""
        self._stop.set()
        with self._lock:
            for wake in self._wakes.values():
                wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._pool is not None:
            # Waits for deliveries in flight (at most one request timeout each); backoffs end at once.
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._http is not None:
            self._http.close()
            self._http = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.evaluate_all()
            except Exception:
                logger.exception("evaluating the monitors failed; trying again in %g s", self._interval)
            self._stop.wait(self._interval)

    def evaluate_all(self, now: datetime | None = None) -> None:
        """Evaluate every monitor once, store their states and history, and start the deliveries that are due."""
        now = now or datetime.now(timezone.utc)
        monitors = {m.monitor_id: m for m in list_monitors(self._store)}
        unseen = [mid for mid in monitors if mid not in self._states]
        stored = load_states(self._store, unseen)
        try:
            prices = load_prices(self._prices)
        except PriceError as exc:
            logger.error("%s; monitors use the built-in prices until it is fixed", exc)
            prices = load_prices(None)
        readings: dict[str, Reading] = {}
        for mid, monitor in monitors.items():
            try:
                readings[mid] = read_metric(self._store, prices, monitor, now)
            except Exception:
                logger.exception("monitor %s: reading %s failed; its state is unchanged", monitor.name, monitor.metric)
        with self._lock:
            self._monitors = monitors
            entries: list[HistoryEntry] = []
            changed: list[str] = []
            for mid in unseen:
                monitor = monitors[mid]
                self._states[mid] = stored.get(mid) or MonitorState(mid, monitor.name, monitor.team, since=now)
            for mid, reading in readings.items():
                state = self._states[mid]
                before = (state.pending, state.dedup_key)
                entries += judge(monitors[mid], state, reading, now)
                if (state.pending, state.dedup_key) != before:
                    changed.append(mid)
            rows = state_rows([self._states[mid] for mid in readings])
        # Written before anything is sent: a trigger decided here survives a restart.
        save_state_rows(self._store, rows)
        add_history(self._store, entries)
        with self._lock:
            for mid in changed:
                if mid in self._wakes:
                    self._wakes[mid].set()  # a job waiting to retry what is no longer wanted
            for mid, state in self._states.items():
                if state.pending and mid in monitors:
                    self._dispatch(mid)
        self.cycles += 1

    def _dispatch(self, monitor_id: str) -> None:
        # Called under the lock: one delivery job per monitor; a running job picks up new work itself.
        if monitor_id in self._delivering or self._pool is None or self._stop.is_set():
            return
        self._delivering.add(monitor_id)
        self._wakes[monitor_id] = threading.Event()
        self._pool.submit(self._deliver, monitor_id, self._wakes[monitor_id])

    def _delay(self, retry: Retry, retry_after: float | None) -> float:
        # urllib3 retries the first time at once; a receiver that just failed gets ``backoff`` seconds first.
        delay = min(max(self._backoff, retry.get_backoff_time()), MAX_BACKOFF)
        return max(delay, retry_after or 0.0)

    def _deliver(self, monitor_id: str, wake: threading.Event) -> None:
        """Deliver ``monitor_id``'s pending action, with retries, until nothing is pending (or the runner stops)."""
        try:
            current: tuple[str, str] | None = None
            retry = self._policy
            while not self._stop.is_set():
                with self._lock:
                    state = self._states[monitor_id]
                    monitor = self._monitors.get(monitor_id)
                    if monitor is None or not state.pending:
                        self._delivering.discard(monitor_id)
                        return
                    if (state.pending, state.dedup_key) != current:
                        current, retry = (state.pending, state.dedup_key), self._policy
                    attempt = len(retry.history) + 1
                    action, dedup_key = cast(Action, state.pending), state.dedup_key
                    body = notification_body(monitor, action, replace(state), datetime.now(timezone.utc))
                assert self._http is not None
                result = send(self._http, self._policy, monitor, body, self._timeout)
                delay, exhausted = 0.0, False
                if result.outcome == "retry":
                    try:
                        retry = retry.increment("POST", None)  # counts the attempt; raises after the last
                        delay = self._delay(retry, result.retry_after)
                    except MaxRetryError:
                        exhausted = True
                with self._lock:
                    state = self._states[monitor_id]
                    still_wanted = (state.pending, state.dedup_key) == current
                    if result.outcome == "delivered":
                        outcome = "delivered"
                        if state.dedup_key == dedup_key:
                            state.notified = action
                            if still_wanted:
                                state.pending = ""
                            if action == "trigger" and state.state != "firing" and not state.pending:
                                # Delivered after the monitor resolved (which dropped it as undelivered).
                                state.pending = "resolve"
                    elif result.outcome == "failed" or exhausted:
                        outcome = "gave_up" if exhausted else "failed"
                        if still_wanted:
                            state.pending = ""
                    else:
                        outcome = "retrying"
                        if not self._stop.is_set():
                            # Under the lock: a change decided from now on (or stop()) wakes the wait below.
                            wake.clear()
                    entry = HistoryEntry.now(
                        monitor,
                        "delivery",
                        state=state.state,
                        value=state.value,
                        tasks=state.tasks,
                        action=action,
                        dedup_key=dedup_key,
                        attempt=attempt,
                        status_code=result.status_code,
                        outcome=outcome,
                        error=result.error,
                    )
                    rows = state_rows([state])
                add_history(self._store, [entry])
                save_state_rows(self._store, rows)
                if outcome != "delivered" and outcome != "retrying":
                    logger.warning(
                        "monitor %s: %s notification not delivered (%s) after %d attempt(s)",
                        monitor.name,
                        action,
                        result.error,
                        attempt,
                    )
                if outcome == "retrying" and still_wanted:
                    wake.wait(delay)
        except Exception:
            logger.exception("monitor delivery failed")
        finally:
            with self._lock:
                self._delivering.discard(monitor_id)
