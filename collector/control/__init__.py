"""Control: what operators and admins do to the collector's data and agents (DESIGN.md, "Control").

For now one seam, :func:`record_admin_action`, which every admin action calls; the audit table
it will write to comes with teams and keys.
"""

from tracereel.collector.control.audit import record_admin_action

__all__ = ["record_admin_action"]
