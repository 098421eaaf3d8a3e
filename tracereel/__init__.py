"""tracereel: traces, metrics and deterministic replay for AI agents.

    import tracereel

    @tracereel.agent(name="support", version="1.0")
    def handle(ticket: str) -> str: ...

Importing tracereel never imports a server dependency.
"""

from tracereel.constants import VERSION
from tracereel.sdk import (
    AgentDisabled,
    ConfigError,
    agent,
    configure,
    dropped_spans,
    escalate,
    flush,
    guardrail,
    llm,
    plan,
    record_usage,
    score,
    set_outcome,
    shutdown,
    tool,
)

__version__ = VERSION

__all__ = [
    "AgentDisabled",
    "ConfigError",
    "__version__",
    "agent",
    "configure",
    "dropped_spans",
    "escalate",
    "flush",
    "guardrail",
    "llm",
    "plan",
    "record_usage",
    "score",
    "set_outcome",
    "shutdown",
    "tool",
]
