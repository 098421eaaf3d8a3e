"""Read after write: a read sees every span acknowledged before it began.

A 200 means the spans are in the write-ahead log; the drainer stores them within about a
second. Reads of traces and metrics first wait for the spans acknowledged before them to be
stored, so ``tracereel replay`` right after an agent's run finds its trace, and a delete
removes every span acknowledged before it. Nothing waits when the log is drained (the usual
case at rest); under load a read waits for the next insert. A store refusing writes would make
a read wait forever, so the wait is bounded and the read then answers with what is stored.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from tracereel.collector.ingest import WriteAheadLog

__all__ = ["READ_AFTER_WRITE", "acknowledged_spans_stored"]

_MAX_WAIT_SECONDS: Final = 5.0


async def acknowledged_spans_stored(request: Request) -> None:
    """FastAPI dependency: wait (at most 5 s) until the spans acknowledged so far are stored."""
    log: WriteAheadLog = request.app.state.log
    target = log.appended_records
    if log.stored_records < target:
        await run_in_threadpool(log.wait_stored, target, _MAX_WAIT_SECONDS)


# For include_router(..., dependencies=[READ_AFTER_WRITE]).
READ_AFTER_WRITE: Final[Any] = Depends(acknowledged_spans_stored)
