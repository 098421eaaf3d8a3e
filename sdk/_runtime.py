"""The SDK's process-wide state: tracer provider, exporter, drop counter, internal errors.

Nothing here may raise into agent code: internal failures are logged and swallowed
(re-raised under pytest, so our own tests see them).
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import IdGenerator

from tracereel.constants import VERSION
from tracereel.sdk import _switches
from tracereel.sdk._nondeterminism import set_recording
from tracereel.sdk._redact import Redact, RedactingExporter
from tracereel.sdk.settings import ConfigError, resolve, traces_url
from tracereel.sdk.settings import headers as settings_headers

if TYPE_CHECKING:
    import requests

__all__ = [
    "add_span_listener",
    "add_span_start_listener",
    "collector_arguments",
    "configure",
    "dropped_spans",
    "flush",
    "internal_error",
    "is_configured",
    "shutdown",
    "tracer",
]

logger = logging.getLogger("tracereel")
# Where the OTLP/HTTP exporter logs its retries, across the OpenTelemetry versions we allow
# (a filter applies to the logger it is added to, not to its children).
_EXPORTER_LOGGERS = (
    "opentelemetry.sdk.trace.export",  # 1.27-1.3x: "Timeout was exceeded in force_flush()"
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http._common",
    "opentelemetry.exporter.otlp.common.http",
)


def internal_error(what: str) -> None:
    """Log an internal SDK failure; the agent keeps running. Re-raises under pytest.

    Our own test suite sees every internal error as a failure, unless it sets
    ``TRACEREEL_SWALLOW_ERRORS`` to test the swallowing itself.
    """
    if os.environ.get("PYTEST_CURRENT_TEST") and not _swallow_errors():
        raise
    logger.exception("tracereel: internal error while %s; your agent keeps running", what)


def _redact_failed(what: str) -> None:
    # internal_error logs the exception being handled (and re-raises it in our own tests).
    internal_error(what)


def _swallow_errors() -> bool:
    try:
        return bool(resolve("swallow_errors"))
    except ConfigError:
        return True  # a malformed value must not turn an internal error into a crash


class _PrivateIdGenerator(IdGenerator):
    """Span and trace ids from a private RNG.

    The default generator draws from the module-level ``random``; replay serves ``random``
    from the recording, so ids must come from a generator replay does not touch.
    """

    def __init__(self) -> None:
        self._rng = random.Random(int.from_bytes(os.urandom(16), "big"))
        self._lock = threading.Lock()

    def generate_span_id(self) -> int:
        with self._lock:
            while True:
                value = self._rng.getrandbits(64)
                if value:
                    return value

    def generate_trace_id(self) -> int:
        with self._lock:
            while True:
                value = self._rng.getrandbits(128)
                if value:
                    return value


class _MuteExportLogs(logging.Filter):
    """Silences the OTLP exporter's per-retry log lines on threads that are exporting for us.

    The stock exporter logs every retry ("Transient error ... retrying in 0.8s") and every failed
    batch; with the collector down that is several lines per batch, and at exit it is the noise
    users see. Our exporter says it once per outage instead, naming the endpoint.
    """

    exporting: ClassVar[set[int]] = set()
    # Set when a muted record says an export attempt failed: the exit flush stops waiting then,
    # since a collector that refuses connections will not take the spans within the bound either.
    trouble: ClassVar[threading.Event] = threading.Event()

    def filter(self, record: logging.LogRecord) -> bool:
        if threading.get_ident() not in self.exporting:
            return True
        if record.levelno >= logging.WARNING:
            self.trouble.set()
        return False


# What a collector answers when it refuses the key: no key, a wrong one, or one without the right.
_REFUSED: frozenset[int | None] = frozenset({401, 403})

_mute = _MuteExportLogs()
for _name in _EXPORTER_LOGGERS:
    logging.getLogger(_name).addFilter(_mute)


class _TrackingExporter(SpanExporter):
    """Wraps the real exporter: counts what left the queue, and reports an outage once.

    Counting batches handed to the exporter gives the queue's length without reading the batch
    processor's private attributes (their name changed across OpenTelemetry SDK versions).
    """

    def __init__(self, inner: SpanExporter, target: str) -> None:
        self.inner = inner
        self.target = target
        self.handed = 0
        self.quiet = False
        self.failed = 0  # batches
        self.failed_spans = 0
        self.refused: int | None = None  # 401 or 403 while the collector keeps refusing the key, else None
        self._failing = False
        self._answer = threading.local()  # the HTTP status of this thread's last export request

    def saw_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """A hook on the exporter's ``requests`` session: notes the status of each answer."""
        self._answer.status = response.status_code

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.handed += len(spans)
        me = threading.get_ident()
        _MuteExportLogs.exporting.add(me)
        self._answer.status = None
        try:
            result = self.inner.export(spans)
        except Exception:
            result = SpanExportResult.FAILURE
        finally:
            _MuteExportLogs.exporting.discard(me)
        if result is SpanExportResult.SUCCESS:
            self.refused = None
            if self._failing:
                self._failing = False
                logger.warning("tracereel: exporting spans to %s again", self.target)
            return result
        self.failed += 1
        self.failed_spans += len(spans)
        status: int | None = getattr(self._answer, "status", None)
        refused = status if status in _REFUSED else None
        # Said again when the reason changes: a collector that was down may come back refusing the key.
        if self._failing and refused == self.refused:
            return result
        self._failing, self.refused = True, refused
        if self.quiet:
            return result  # the exit flush says what was lost, in one line
        if refused is not None:
            logger.warning(
                "tracereel: the collector at %s refused the key (HTTP %d); these spans are dropped. "
                "Set TRACEREEL_API_KEY (or the Authorization header in TRACEREEL_HEADERS) to a key it accepts. "
                "Your agent keeps running.",
                self.target,
                refused,
            )
        else:
            logger.warning(
                "tracereel: cannot export spans to %s (is the collector running?); "
                "spans are retried, then dropped. Your agent keeps running.",
                self.target,
            )
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class _CountingBatchSpanProcessor(BatchSpanProcessor):
    """The stock batch processor, counting the spans it drops when its queue is full.

    The stock processor silently drops the oldest span once ``max_queue_size`` spans wait;
    we refuse the newest instead and count it, so the loss is visible.
    """

    def __init__(self, exporter: _TrackingExporter, *, max_queue_size: int, **kwargs: Any) -> None:
        super().__init__(exporter, max_queue_size=max_queue_size, **kwargs)
        self.tracking = exporter
        self._max_queue = max_queue_size
        self._accepted = 0
        self._count_lock = threading.Lock()
        self.dropped = 0
        self._warned = False

    def queued(self) -> int:
        """Spans accepted but not yet handed to the exporter."""
        return self._accepted - self.tracking.handed

    def on_end(self, span: ReadableSpan) -> None:
        with self._count_lock:
            full = self._accepted - self.tracking.handed >= self._max_queue
            if full:
                self.dropped += 1
            else:
                self._accepted += 1
        if full:
            if not self._warned:
                self._warned = True
                logger.warning(
                    "tracereel: export queue is full (%d spans); dropping new spans and counting them. "
                    "Is the collector reachable? tracereel.dropped_spans() tells how many.",
                    self._max_queue,
                )
            return
        super().on_end(span)


class _Listeners(SpanProcessor):
    """Calls the registered callbacks with each ended span (see ``hooks.on_span_end``)."""

    def __init__(self) -> None:
        self.callbacks: tuple[Callable[[ReadableSpan], None], ...] = ()
        self.starters: tuple[Callable[[Span], None], ...] = ()
        self._lock = threading.Lock()

    def add(self, callback: Callable[[ReadableSpan], None]) -> Callable[[], None]:
        with self._lock:
            self.callbacks = (*self.callbacks, callback)

        def remove() -> None:
            with self._lock:
                self.callbacks = tuple(c for c in self.callbacks if c is not callback)

        return remove

    def add_starter(self, callback: Callable[[Span], None]) -> Callable[[], None]:
        with self._lock:
            self.starters = (*self.starters, callback)

        def remove() -> None:
            with self._lock:
                self.starters = tuple(c for c in self.starters if c is not callback)

        return remove

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for callback in self.starters:
            try:
                callback(span)
            except Exception:
                internal_error("calling a span start listener")

    def on_end(self, span: ReadableSpan) -> None:
        for callback in self.callbacks:  # a tuple, replaced whole: safe to read without the lock
            try:
                callback(span)
            except Exception:
                internal_error("calling a span listener")


_listeners = _Listeners()


def add_span_listener(callback: Callable[[ReadableSpan], None]) -> Callable[[], None]:
    """Register ``callback`` for every ended span, across re-configuration; returns its remover."""
    return _listeners.add(callback)


def add_span_start_listener(callback: Callable[[Span], None]) -> Callable[[], None]:
    """Register ``callback`` for every started span (it may set attributes); returns its remover."""
    return _listeners.add_starter(callback)


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.provider: TracerProvider | None = None
        self.processor: _CountingBatchSpanProcessor | None = None
        self.tracer: trace.Tracer | None = None
        self.dropped_before = 0
        self.exit_flush_seconds = 1.0
        self.target = ""
        self.collector: tuple[str | None, str | None] = (None, None)  # configure()'s endpoint and api_key
        self.exit_hook_installed = False


_state = _State()


def _otlp_exporter(url: str, headers: dict[str, str], timeout: float) -> tuple[SpanExporter, requests.Session]:
    """The stock OTLP/HTTP exporter, and the ``requests`` session it sends with."""
    import requests
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    session = requests.Session()
    exporter = OTLPSpanExporter(
        endpoint=url, headers=headers or None, timeout=timeout, compression=Compression.Gzip, session=session
    )
    return exporter, session


def configure(
    service_name: str | None = None,
    endpoint: str | None = None,
    api_key: str | None = None,
    *,
    exporter: SpanExporter | None = None,
    max_queue_size: int | None = None,
    max_export_batch_size: int | None = None,
    schedule_delay_millis: int | None = None,
    export_timeout_seconds: float | None = None,
    exit_flush_timeout_seconds: float | None = None,
    record_nondeterminism: bool | None = None,
    resource_attributes: dict[str, str] | None = None,
    id_generator: IdGenerator | None = None,
    clock: Callable[[], int] | None = None,
    redact: Redact | None = None,
    kill_switch: bool | None = None,
    kill_switch_fail_closed_after: float | None = None,
) -> None:
    """Configure where and how tracereel exports spans.

    Each setting is taken from its argument, else its ``TRACEREEL_*`` environment variable,
    else the standard OpenTelemetry variable where one exists (``OTEL_EXPORTER_OTLP_ENDPOINT``,
    ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_BSP_*``), else its default; the table is
    :data:`tracereel.sdk.settings.SETTINGS`. Code that never calls ``configure()`` is configured
    from the environment on first use. ``exporter`` replaces the OTLP/HTTP exporter (for tests:
    an ``InMemorySpanExporter``). ``id_generator`` and ``clock`` (nanoseconds since the epoch)
    make span ids and times deterministic, for snapshot tests. ``redact(key, value) -> str``
    scrubs every string attribute value (span and event attributes) before it leaves the
    process; it runs on the exporter's thread, and a value it fails on is sent as
    ``<redacted:error>``, never as it was. ``kill_switch`` (default on) keeps the collector's
    kill switches fresh in a background thread; ``kill_switch_fail_closed_after`` (seconds,
    default: fail open) blocks ``@agent`` calls once the switches have been unknown that long
    (docs/kill-switch.md). Calling it again flushes and replaces the previous configuration.
    """
    service = resolve("service_name", service_name)
    queue = resolve("max_queue_size", max_queue_size)
    batch = min(resolve("max_export_batch_size", max_export_batch_size), queue)
    delay = resolve("schedule_delay_millis", schedule_delay_millis)
    timeout = resolve("export_timeout_seconds", export_timeout_seconds)
    exit_flush = resolve("exit_flush_timeout_seconds", exit_flush_timeout_seconds)
    set_recording(bool(resolve("record_nondeterminism", record_nondeterminism)))
    switches_on = bool(resolve("kill_switch", kill_switch))
    fail_closed_after = resolve("kill_switch_fail_closed_after", kill_switch_fail_closed_after)
    session: requests.Session | None = None
    if exporter is None:
        target = traces_url(endpoint)
        exporter, session = _otlp_exporter(target, settings_headers(api_key), timeout)
    else:
        target = type(exporter).__name__
    if redact is not None:
        exporter = RedactingExporter(exporter, redact, _redact_failed)
    tracking = _TrackingExporter(exporter, target)
    if session is not None:
        # The stock exporter returns only FAILURE: what the collector answered tells a refused key
        # apart from a collector that is down.
        session.hooks["response"].append(tracking.saw_response)
    attributes: dict[str, str] = {
        "service.name": service,
        "telemetry.sdk.language": "python",
        "tracereel.sdk.version": VERSION,
    }
    attributes.update(resource_attributes or {})
    ids = id_generator or _PrivateIdGenerator()
    provider = TracerProvider(resource=Resource.create(attributes), id_generator=ids, shutdown_on_exit=False)
    processor = _CountingBatchSpanProcessor(
        tracking,
        max_queue_size=queue,
        max_export_batch_size=batch,
        schedule_delay_millis=delay,
        export_timeout_millis=int(timeout * 1000),
    )
    provider.add_span_processor(processor)
    provider.add_span_processor(_listeners)
    with _state.lock:
        old, old_processor = _state.provider, _state.processor
        _state.provider, _state.processor = provider, processor
        _state.tracer = provider.get_tracer("tracereel", VERSION)
        _state.exit_flush_seconds = exit_flush
        _state.target = target
        _state.collector = (endpoint, api_key)
        _clock.now = clock
        _clock.ids = ids
        if old_processor is not None:
            _state.dropped_before += old_processor.dropped
        if not _state.exit_hook_installed:
            _state.exit_hook_installed = True
            atexit.register(_flush_at_exit)
    if old is not None:
        old.shutdown()
    _switches.configure(
        endpoint=endpoint,
        api_key=api_key,
        service=str(service),
        enabled=switches_on,
        fail_closed_after=fail_closed_after,
    )


def _flush_at_exit() -> None:
    """Flush what is still queued, for at most ``TRACEREEL_EXIT_FLUSH_TIMEOUT`` seconds.

    The stock provider's exit hook flushes without a bound: with the collector down, a short
    script waits out the exporter's retries (seconds) and prints a line per retry. We flush on a
    daemon thread and give up after the bound, saying once what was lost and where it was going.
    """
    with _state.lock:
        provider, processor = _state.provider, _state.processor
        _state.provider = _state.processor = _state.tracer = None
    if provider is None or processor is None:
        return
    waiting = processor.queued()
    if waiting <= 0:
        return
    processor.tracking.quiet = True
    if _bounded_flush(provider, processor, _state.exit_flush_seconds, give_up_on_failure=True):
        return
    lost = max(processor.queued(), processor.tracking.failed_spans) or waiting
    refused = processor.tracking.refused
    if refused is not None:
        logger.warning(
            "tracereel: %d span(s) not exported to %s at exit: the collector refused them (HTTP %d), "
            "they are lost. Set TRACEREEL_API_KEY (or the Authorization header in TRACEREEL_HEADERS) "
            "to a key it accepts.",
            lost,
            _state.target,
            refused,
        )
        return
    logger.warning(
        "tracereel: %d span(s) not exported to %s at exit (waited at most %.1f s, TRACEREEL_EXIT_FLUSH_TIMEOUT); "
        "they are lost. Is the collector running?",
        lost,
        _state.target,
        _state.exit_flush_seconds,
    )


class _Clock:
    """Span times and tool call ids; injectable (``configure(clock=..., id_generator=...)``)."""

    now: Callable[[], int] | None = None
    ids: IdGenerator | None = None


_clock = _Clock()


def clock_ns() -> int | None:
    """The injected clock's time in nanoseconds, or None to let OpenTelemetry read the real clock."""
    now = _clock.now
    return now() if now is not None else None


def new_call_id() -> str:
    """A tool call id (``call_`` and 16 hex digits) from the configured id generator.

    Never from the module-level ``random``: replay serves that from the recording.
    """
    ids = _clock.ids
    if ids is None:
        ids = _clock.ids = _PrivateIdGenerator()
    return f"call_{ids.generate_span_id():016x}"


def collector_arguments() -> tuple[str | None, str | None]:
    """``configure()``'s ``endpoint`` and ``api_key`` (None: from the settings), for the SDK's own API calls."""
    return _state.collector


def is_configured() -> bool:
    """Whether the SDK has an exporter (``configure()`` ran, explicitly or on first use)."""
    return _state.tracer is not None


def tracer() -> trace.Tracer:
    """The tracer the SDK's boundaries use; configures from the environment on first use."""
    current = _state.tracer
    if current is None:
        with _state.lock:
            configured = _state.tracer is not None
        if not configured:
            configure()
        current = _state.tracer
    assert current is not None
    return current


def flush(timeout_seconds: float = 5.0) -> bool:
    """Export every span still queued; True if all were exported within the timeout.

    False when the timeout passed first or an export failed (the collector is down or refused
    them); the spans keep being retried in the background until the exporter gives up.
    """
    provider, processor = _state.provider, _state.processor
    if provider is None or processor is None:
        return True
    return _bounded_flush(provider, processor, timeout_seconds)


def _bounded_flush(
    provider: TracerProvider, processor: _CountingBatchSpanProcessor, seconds: float, give_up_on_failure: bool = False
) -> bool:
    # force_flush ignores its timeout in recent OpenTelemetry SDKs (it exports on the calling
    # thread, retries included): run it on a daemon thread and stop waiting at the bound.
    failed_before = processor.tracking.failed
    done = _MuteExportLogs.trouble if give_up_on_failure else threading.Event()
    done.clear()
    outcome = [False]

    def run() -> None:
        _MuteExportLogs.exporting.add(threading.get_ident())
        try:
            outcome[0] = provider.force_flush(int(seconds * 1000))
        except Exception:
            internal_error("flushing spans")
        finally:
            _MuteExportLogs.exporting.discard(threading.get_ident())
            done.set()

    threading.Thread(target=run, name="tracereel-flush", daemon=True).start()
    finished = done.wait(seconds)
    return finished and outcome[0] and processor.queued() == 0 and processor.tracking.failed == failed_before


def shutdown() -> None:
    """Flush and stop exporting (and polling the kill switches); the next span configures the SDK again."""
    _switches.stop()
    with _state.lock:
        provider, processor = _state.provider, _state.processor
        _state.provider = _state.processor = _state.tracer = None
        if processor is not None:
            _state.dropped_before += processor.dropped
    if provider is not None:
        provider.shutdown()


def dropped_spans() -> int:
    """How many spans were dropped because the export queue was full, since the process started."""
    processor = _state.processor
    return _state.dropped_before + (processor.dropped if processor is not None else 0)
