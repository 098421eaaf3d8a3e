"""The CLI's one exit-code policy: 0 ok, 1 the check failed, 2 cannot run (``gate`` keeps its 0/1/2/3).

An expected failure is one line on stderr, never a traceback: raise :class:`CannotRun` or
:class:`CheckFailed`, or talk to the collector inside :func:`collector_errors`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import contextmanager
from typing import Final, TypeVar

import click

from tracereel.client import CollectorClient, CollectorError

__all__ = ["CANNOT_RUN", "CHECK_FAILED", "OK", "CannotRun", "CheckFailed", "ask_collector", "collector_errors"]

OK: Final = 0
CHECK_FAILED: Final = 1
CANNOT_RUN: Final = 2

_T = TypeVar("_T")


class CannotRun(click.ClickException):
    """The command could not do its job (unknown trace, unreachable or refusing collector, bad file): exit 2."""

    exit_code = CANNOT_RUN


class CheckFailed(click.ClickException):
    """The command ran and what it checks failed (a replay diverged, a gate failed): exit 1."""

    exit_code = CHECK_FAILED


@contextmanager
def collector_errors(*, forbidden: str | None = None) -> Generator[None, None, None]:
    """Turn a collector's error inside the block into :class:`CannotRun` (one line, exit 2).

    ``forbidden`` is added to the message of a 403, e.g. which key the action needs.
    """
    try:
        yield
    except CollectorError as exc:
        message = str(exc)
        if forbidden and exc.status == 403:
            message += f" ({forbidden})"
        raise CannotRun(message) from None


def ask_collector(collector: str, call: Callable[[CollectorClient], _T], *, forbidden: str | None = None) -> _T:
    """``call`` on a client of ``collector``, its errors handled by :func:`collector_errors`."""
    with collector_errors(forbidden=forbidden):
        return call(CollectorClient(collector))
