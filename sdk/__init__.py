"""tracereel's SDK: decorators and signals that turn agent code into OpenTelemetry spans."""

from tracereel.sdk._boundaries import agent, llm, tool
from tracereel.sdk._intercept import BoundaryCall, Interceptor, get_interceptor, set_interceptor
from tracereel.sdk._runtime import configure, dropped_spans, flush, shutdown
from tracereel.sdk._settings import ConfigError
from tracereel.sdk._signals import escalate, guardrail, plan, record_usage, score, set_outcome

__all__ = [
    "BoundaryCall",
    "ConfigError",
    "Interceptor",
    "agent",
    "configure",
    "dropped_spans",
    "escalate",
    "flush",
    "get_interceptor",
    "guardrail",
    "llm",
    "plan",
    "record_usage",
    "score",
    "set_interceptor",
    "set_outcome",
    "shutdown",
    "tool",
]
