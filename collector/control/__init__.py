"""Control: what operators and admins do to the collector's data and agents (DESIGN.md, "Control").

Who is asking (:class:`Principal`), redaction of what the collector takes in (ingest calls into
it), and the seam every admin action calls, :func:`record_admin_action` (the audit table it will
write to comes with teams and keys).
"""

from tracereel.collector.control.access import ANONYMOUS, ROLES, Principal, Role
from tracereel.collector.control.audit import record_admin_action
from tracereel.collector.control.redaction import KINDS, REDACTED_PREFIX, RedactionError, Redactor, load_redactor

__all__ = [
    "ANONYMOUS",
    "KINDS",
    "REDACTED_PREFIX",
    "ROLES",
    "Principal",
    "RedactionError",
    "Redactor",
    "Role",
    "load_redactor",
    "record_admin_action",
]
