"""The audit seam: every admin action (data deleted, and later keys and switches) is recorded here.

There is no audit table yet (it comes with teams and keys, issue 9 part 1), so an action is one
INFO line in the collector's log. Callers already pass what the table will hold, so the table
can be added behind this function without touching them.
"""

from __future__ import annotations

import logging

__all__ = ["record_admin_action"]

logger = logging.getLogger("tracereel.collector.audit")


def record_admin_action(action: str, target: str, *, key_id: str | None = None, detail: str = "") -> None:
    """Record that ``action`` (e.g. ``delete_trace``) was done to ``target`` (e.g. a trace id).

    ``key_id`` names the key that asked (None while auth is a single shared key); never pass the
    key itself, nor data from the target: the record must hold no secret and no personal data.
    """
    logger.info(
        "admin action %s on %s by %s%s",
        action,
        target,
        key_id or "the collector's key",
        f" ({detail})" if detail else "",
    )
