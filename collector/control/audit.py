"""The audit log: every admin action (a key created or revoked, data deleted, a switch flipped).

:func:`record_admin_action` writes one row to the store's audit table (and one INFO line to the
collector's log), with the id of the key that asked, never the key itself.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from tracereel.collector.store import AuditRow, Store, insert_audit

__all__ = ["record_admin_action"]

logger = logging.getLogger("tracereel.collector.audit")


def record_admin_action(
    action: str, target: str, *, key_id: str | None = None, detail: str = "", store: Store | None = None
) -> None:
    """Record that ``action`` (e.g. ``delete_trace``) was done to ``target`` (e.g. a trace id).

    ``key_id`` names the key that asked (None: auth is off); never pass the key itself, nor data
    from the target: the record must hold no secret and no personal data. ``store`` is where the
    row goes; every caller in the collector passes it (tests/collector/test_keys.py checks).
    """
    who = key_id or "(auth off)"
    logger.info("admin action %s on %s by %s%s", action, target, who, f" ({detail})" if detail else "")
    if store is not None:
        insert_audit(store, AuditRow(datetime.now(timezone.utc), key_id or "", action, target, detail))
