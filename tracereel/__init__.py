"""tracereel: traces, metrics and deterministic replay for AI agents.

    import tracereel

    @tracereel.agent(name="support", version="1.0")
    def handle(ticket: str) -> str: ...

Importing tracereel never imports a server dependency or an instrumented library
(``tracereel.instrument("openai")`` imports the OpenAI client when it is called).
"""

from tracereel.constants import VERSION
from tracereel.sdk import (
    AgentDisabled,
    ConfigError,
    agent,
    configure,
    current_trace_id,
    dropped_spans,
    escalate,
    feedback,
    flush,
    guardrail,
    instrument,
    llm,
    plan,
    record_usage,
    score,
    set_outcome,
    shutdown,
    tool,
    uninstrument,
)

__version__ = VERSION

__all__ = [
    "AgentDisabled",
    "ConfigError",
    "__version__",
    "agent",
    "configure",
    "current_trace_id",
    "dropped_spans",
    "escalate",
    "feedback",
    "flush",
    "guardrail",
    "instrument",
    "llm",
    "plan",
    "record_usage",
    "score",
    "set_outcome",
    "shutdown",
    "tool",
    "uninstrument",
]
