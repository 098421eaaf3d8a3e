"""tracereel's SDK: decorators and signals that turn agent code into OpenTelemetry spans.

Agent code uses what is exported here (re-exported by :mod:`tracereel`). The parts that drive
agent code (replay, evals, integrations) use :mod:`tracereel.sdk.hooks`; settings are declared in
:mod:`tracereel.sdk.settings`. Everything in an ``_underscore`` module is private.
"""

from tracereel.sdk._boundaries import agent, llm, tool
from tracereel.sdk._feedback import current_trace_id, feedback
from tracereel.sdk._runtime import configure, dropped_spans, flush, shutdown
from tracereel.sdk._signals import escalate, guardrail, plan, record_usage, score, set_outcome
from tracereel.sdk._switches import AgentDisabled
from tracereel.sdk.integrations import instrument, uninstrument
from tracereel.sdk.settings import ConfigError

__all__ = [
    "AgentDisabled",
    "ConfigError",
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
