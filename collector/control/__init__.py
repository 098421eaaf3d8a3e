"""Control: what operators and admins do to the collector's data and agents (DESIGN.md, "Control").

Who is asking (:class:`Principal`) and the keys that say so (:class:`KeyRing`), redaction of
what the collector takes in (ingest calls into it), and the audit log every admin action
writes, :func:`record_admin_action`.
"""

from tracereel.collector.control.access import ANONYMOUS, ROLES, Principal, Role
from tracereel.collector.control.audit import record_admin_action
from tracereel.collector.control.keys import (
    ADMIN_KEY_ID,
    API_KEY_ID,
    REFRESH_SECONDS,
    KeyRequestError,
    KeyRing,
    hash_key,
    new_key,
)
from tracereel.collector.control.redaction import KINDS, REDACTED_PREFIX, RedactionError, Redactor, load_redactor

__all__ = [
    "ADMIN_KEY_ID",
    "ANONYMOUS",
    "API_KEY_ID",
    "KINDS",
    "REDACTED_PREFIX",
    "REFRESH_SECONDS",
    "ROLES",
    "KeyRequestError",
    "KeyRing",
    "Principal",
    "RedactionError",
    "Redactor",
    "Role",
    "hash_key",
    "load_redactor",
    "new_key",
    "record_admin_action",
]
