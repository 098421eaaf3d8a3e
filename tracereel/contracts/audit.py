"""The audit log of admin actions: ``GET /api/v1/audit``."""

from __future__ import annotations

from pydantic import Field

from tracereel.contracts import Response

__all__ = ["AuditEntry", "AuditLog"]


class AuditEntry(Response):
    """One admin action: when, by which key, what, to what."""

    time: str = Field(description="ISO 8601")
    key_id: str | None = Field(description="The key's public id; None with auth off")
    action: str = Field(description="key_created, key_revoked, delete_trace, kill_agent, add_monitor, ...")
    target: str
    detail: str = Field(description="A short detail, never a secret")


class AuditLog(Response):
    """Admin actions, newest first."""

    entries: list[AuditEntry]
