"""Golden cases from a review queue: ``tracereel dataset add-reviewed FILE --queue NAME`` (docs/review.md).

Each reviewed trace of the queue becomes a case made like ``dataset add`` makes one (the input
recorded at the root agent, the trace saved under ``traces/`` beside the file), whose expected value
is the reviewer's. A passed trace without one expects what it answered; a failed trace without one
cannot become a case (nothing says what was right) and is reported as skipped. A trace already in
FILE (its saved trace is a case's ``trace``) is skipped too, so running it again adds only new verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracereel.evals.dataset import DatasetError, add_case, load_dataset
from tracereel.evals.model import Case

__all__ = ["ReviewedCases", "add_reviewed"]

_PAGE = 1000  # the most items one answer holds


@dataclass
class ReviewedCases:
    """What :func:`add_reviewed` did: the cases appended, and each trace skipped with the reason."""

    added: list[Case] = field(default_factory=list[Case])
    skipped: dict[str, str] = field(default_factory=dict[str, str])


def add_reviewed(path: str | Path, queue: str, *, client: Any = None, collector: str | None = None) -> ReviewedCases:
    """Append a case to the dataset at ``path`` for each reviewed trace of ``queue`` not already in it.

    ``client`` is a :class:`tracereel.client.CollectorClient` (default: one for ``collector``).
    Raises :class:`~tracereel.evals.dataset.DatasetError` when the queue cannot be read or a case
    cannot be written.
    """
    from tracereel.client import CollectorClient, CollectorError

    file = Path(path)
    client = client or CollectorClient(collector)
    try:
        items = client.review_items(queue, state="done", limit=_PAGE)
    except CollectorError as exc:
        raise DatasetError(file, f"cannot read review queue {queue}: {exc}") from None
    present: set[str] = {c.trace for c in load_dataset(file).cases if c.trace} if file.exists() else set()
    done = ReviewedCases()
    for item in sorted(items, key=lambda i: (i.reviewed_at or "", i.trace_id)):
        if f"traces/{item.trace_id}.json" in present:
            done.skipped[item.trace_id] = "already in the file"
            continue
        if item.expected is None and item.verdict == "fail":
            done.skipped[item.trace_id] = "failed without an expected value"
            continue
        tags = {"review": queue, "verdict": str(item.verdict)}
        done.added.append(add_case(file, item.trace_id, expected=item.expected, tags=tags, client=client))
    return done
