"""User feedback from the agent's own app: ``tracereel.feedback`` and ``tracereel.current_trace_id``.

Feedback is a score (source ``feedback``) posted to the collector off the caller's thread: the
caller (a web handler answering a thumbs-down) only validates and queues. One daemon thread
posts. The trace may not be stored yet when its feedback arrives (its spans still sit in the
export queue), so the thread flushes the SDK's spans first and retries a 404 (and an unreachable
collector) with backoff, for at most :data:`RETRY_SECONDS` from when the feedback was given; then
it logs one warning and drops it. Each feedback carries an id made here, so a post retried after
a lost answer replaces itself instead of counting twice.
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import logging
import math
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final, cast

from opentelemetry import trace

from tracereel.sdk._runtime import collector_arguments, flush, internal_error
from tracereel.sdk.settings import collector_endpoint
from tracereel.traces import SCORE_NAME_PATTERN, parse_trace_id

if TYPE_CHECKING:
    from tracereel.client import CollectorClient

__all__ = ["MAX_PENDING", "RETRY_SECONDS", "current_trace_id", "feedback", "wait_for_feedback"]

logger = logging.getLogger("tracereel")

# How long a feedback waits for its trace to be stored (and the collector to answer) before it is dropped.
RETRY_SECONDS: Final = 60.0
# Feedback waiting to be posted; beyond this a new one is dropped with a warning (the app's memory is not ours).
MAX_PENDING: Final = 10_000
_FIRST_BACKOFF: Final = 0.25
_MAX_BACKOFF: Final = 5.0
_EXIT_SECONDS: Final = 2.0


def current_trace_id() -> str | None:
    """The 32-hex trace id of the task running here (inside an ``@agent``, ``@tool`` or ``@llm`` call), else None.

    Hand it to the app's page, which sends it back with the user's thumbs-up or thumbs-down
    for :func:`feedback`.
    """
    try:
        context = trace.get_current_span().get_span_context()
        return f"{context.trace_id:032x}" if context.is_valid else None
    except Exception:
        internal_error("reading the current trace id")
        return None


@dataclass(order=True)
class _Item:
    due: float
    seq: int
    trace_id: str = field(compare=False)
    value: float = field(compare=False)
    name: str = field(compare=False)
    comment: str | None = field(compare=False)
    user: str | None = field(compare=False)
    score_id: str = field(compare=False)
    time: datetime = field(compare=False)
    deadline: float = field(compare=False)
    target: tuple[str, str | None] = field(compare=False)  # the collector and key the SDK used when it was given
    backoff: float = field(compare=False, default=_FIRST_BACKOFF)


class _Sender:
    """The queue and the one thread that posts from it, started on first use."""

    def __init__(self) -> None:
        self.inbox: queue.Queue[_Item] = queue.Queue(MAX_PENDING)
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.seq = itertools.count()
        self.client: CollectorClient | None = None
        self.client_target: tuple[str, str | None] = ("", None)
        self.pending = 0  # queued or waiting to be retried
        self.settled = threading.Condition(self.lock)

    def put(self, item: _Item) -> bool:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="tracereel-feedback", daemon=True)
                self.thread.start()
                atexit.register(wait_for_feedback, _EXIT_SECONDS)
            try:
                self.inbox.put_nowait(item)
            except queue.Full:
                return False
            self.pending += 1
            return True

    def done(self) -> None:
        with self.lock:
            self.pending -= 1
            self.settled.notify_all()

    def wait(self, timeout: float) -> bool:
        with self.lock:
            return self.settled.wait_for(lambda: self.pending == 0, timeout)

    def _client(self, target: tuple[str, str | None]) -> CollectorClient:
        if self.client is None or self.client_target != target:
            # The client (and pydantic with it) only once feedback is given: `import tracereel` stays light.
            from tracereel.client import CollectorClient

            self.client = CollectorClient(target[0], api_key=target[1], timeout=10.0)
            self.client_target = target
        return self.client

    def _run(self) -> None:
        waiting: list[_Item] = []
        while True:
            try:
                timeout = max(0.0, waiting[0].due - time.monotonic()) if waiting else None
                try:
                    fresh = self.inbox.get(timeout=timeout)
                    # New feedback: its task's spans are likely still queued for export; send them first.
                    flush(2.0)
                    heapq.heappush(waiting, fresh)
                except queue.Empty:
                    pass
                while waiting and waiting[0].due <= time.monotonic():
                    item = heapq.heappop(waiting)
                    retry = None
                    try:
                        retry = _post(self._client(item.target), item)
                    finally:
                        if retry is None:
                            self.done()
                        else:
                            heapq.heappush(waiting, retry)
            except Exception:
                internal_error("sending feedback")


def _post(client: CollectorClient, item: _Item) -> _Item | None:
    """Post one feedback; the item again (later) when it should be retried, else None."""
    from tracereel.client import CollectorUnavailable, NotFound

    try:
        client.score(
            item.trace_id,
            item.name,
            item.value,
            source="feedback",
            author=item.user,
            comment=item.comment,
            time=item.time.isoformat(),
            id=item.score_id,
        )
        return None
    except (NotFound, CollectorUnavailable) as exc:
        now = time.monotonic()
        if now + item.backoff > item.deadline:
            logger.warning(
                "tracereel.feedback for trace %s dropped after %.0f s: %s", item.trace_id, RETRY_SECONDS, exc
            )
            return None
        item.due, item.backoff = now + item.backoff, min(item.backoff * 2, _MAX_BACKOFF)
        return item
    except Exception as exc:  # refused (a bad key, a 422): retrying would not help
        logger.warning("tracereel.feedback for trace %s dropped: %s", item.trace_id, exc)
        return None


_sender = _Sender()


def feedback(
    trace_id: str, value: float, *, name: str = "user_feedback", comment: str | None = None, user: str | None = None
) -> None:
    """Record a user's judgement of a task: a score of source ``feedback`` (thumbs-up +1, thumbs-down -1).

    Never raises and never waits on the network: it queues, and a background thread posts to the
    collector (the SDK's endpoint and key). The trace may not be stored yet; the thread sends the
    SDK's queued spans first and retries for at most 60 seconds (:data:`RETRY_SECONDS`) before it
    logs a warning and drops the feedback. A value that is not a finite number, a malformed trace id
    or score name is dropped with one warning. ``user`` is stored as the score's author.
    """
    try:
        # Callers pass what their web form gave them: check at run time what the annotations promise.
        given = cast("object", value)
        if isinstance(given, bool) or not isinstance(given, int | float) or not math.isfinite(given):
            logger.warning("tracereel.feedback(%r, %r): the value is not a finite number; dropped", trace_id, value)
            return
        try:
            normalised = parse_trace_id(str(trace_id))
        except ValueError:
            logger.warning("tracereel.feedback(%r): not a trace id (32 hex digits); dropped", trace_id)
            return
        if not SCORE_NAME_PATTERN.match(str(name)):
            logger.warning("tracereel.feedback(name=%r): not a score name; dropped", name)
            return
        endpoint, api_key = collector_arguments()
        now = time.monotonic()
        item = _Item(
            due=now,
            seq=next(_sender.seq),
            trace_id=normalised,
            value=float(value),
            name=name,
            comment=None if comment is None else str(comment)[:10_000],
            user=None if user is None else str(user)[:200],
            score_id=f"feedback:{uuid.uuid4().hex}",
            time=datetime.now(timezone.utc),
            deadline=now + RETRY_SECONDS,
            target=(collector_endpoint(endpoint), api_key),
        )
        if not _sender.put(item):
            logger.warning("tracereel.feedback: %d feedbacks are waiting to be sent; this one is dropped", MAX_PENDING)
    except Exception:
        internal_error("queueing feedback")


def wait_for_feedback(timeout_seconds: float = 5.0) -> bool:
    """Wait until every queued feedback is posted or dropped; True if that happened within the timeout."""
    return _sender.wait(timeout_seconds)
