"""Span and attribute names: the one place every part of tracereel reads them from.

The OpenTelemetry GenAI semantic conventions come first; ``tracereel.*`` names exist only
where those conventions have nothing. See DESIGN.md, "Span conventions".
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AGENT_INPUT",
    "AGENT_NAME",
    "AGENT_OUTPUT",
    "AGENT_VERSION",
    "ARGS_HASH",
    "COST_USD",
    "ENTRYPOINT",
    "ENTRYPOINT_FILE",
    "ERROR_TYPE",
    "ESCALATION",
    "ESCALATION_REASON",
    "EVAL_CASE_ID",
    "EVAL_DATASET",
    "EVAL_RUN_ID",
    "EVAL_VARIANT",
    "EXCEPTION_EVENT",
    "GRAPH_NODE_ID",
    "GRAPH_NODE_PARENT_ID",
    "GROUNDEDNESS",
    "GUARDRAIL_NAME",
    "GUARDRAIL_REASON",
    "GUARDRAIL_VERDICT",
    "HANDOFF_FROM",
    "HANDOFF_TARGET_TYPE",
    "INPUT_MESSAGES",
    "INPUT_VALUE",
    "KILLED",
    "KILLED_REASON",
    "KINDS",
    "LLM_ARGUMENTS",
    "LLM_TOOL_CALLS",
    "NONDETERMINISM",
    "OPENINFERENCE_SPAN_KIND",
    "OPERATION_NAME",
    "OP_CHAT",
    "OP_EXECUTE_TOOL",
    "OP_INVOKE_AGENT",
    "OUTPUT_MESSAGES",
    "OUTPUT_VALUE",
    "PLAN_STEPS",
    "PROVIDER_NAME",
    "REPLAY_DIVERGED_AT",
    "REPLAY_MODE",
    "REPLAY_OF",
    "REPLAY_SOURCE",
    "REQUEST_MODEL",
    "RESPONSE_MODEL",
    "RETRY_ATTEMPT",
    "SCORE_PREFIX",
    "TASK_START",
    "TASK_START_SPAN_PREFIX",
    "TASK_SUCCESS",
    "TIMEOUT_ERROR_TYPE",
    "TOOL_CALL_ARGUMENTS",
    "TOOL_CALL_ID",
    "TOOL_CALL_RESULT",
    "TOOL_DEFINITIONS",
    "TOOL_NAME",
    "USAGE_INPUT_TOKENS",
    "USAGE_OUTPUT_TOKENS",
    "VERDICT_PASS",
    "VERDICT_VIOLATION",
]

# --- OpenTelemetry GenAI semantic conventions -------------------------------------------
OPERATION_NAME: Final = "gen_ai.operation.name"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_CHAT: Final = "chat"
OP_EXECUTE_TOOL: Final = "execute_tool"

AGENT_NAME: Final = "gen_ai.agent.name"
AGENT_VERSION: Final = "gen_ai.agent.version"
REQUEST_MODEL: Final = "gen_ai.request.model"
RESPONSE_MODEL: Final = "gen_ai.response.model"
PROVIDER_NAME: Final = "gen_ai.provider.name"
USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
TOOL_NAME: Final = "gen_ai.tool.name"
TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
# The tools offered to the model on an LLM call (JSON, as the provider takes them).
TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"
ERROR_TYPE: Final = "error.type"
EXCEPTION_EVENT: Final = "exception"
TIMEOUT_ERROR_TYPE: Final = "timeout"

# --- OpenInference (spans from other instrumentations) ---------------------------------
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
# What an OpenInference span took and gave (JSON or text), whatever its kind.
INPUT_VALUE: Final = "input.value"
OUTPUT_VALUE: Final = "output.value"
# Agent-graph nodes (OpenInference, Phoenix's graph view): a node naming the node it came from is
# a sub-agent handoff.
GRAPH_NODE_ID: Final = "graph.node.id"
GRAPH_NODE_PARENT_ID: Final = "graph.node.parent_id"

# --- tracereel additions ----------------------------------------------------------------
ENTRYPOINT: Final = "tracereel.entrypoint"
AGENT_INPUT: Final = "tracereel.agent.input"
AGENT_OUTPUT: Final = "tracereel.agent.output"
ARGS_HASH: Final = "tracereel.args_hash"
# LLM arguments other than the messages, so replay can show a full diff.
LLM_ARGUMENTS: Final = "tracereel.llm.arguments"
# The tool calls an LLM response asked for: JSON list of {"id", "name", "arguments"}.
LLM_TOOL_CALLS: Final = "tracereel.llm.tool_calls"
GUARDRAIL_NAME: Final = "tracereel.guardrail.name"
GUARDRAIL_VERDICT: Final = "tracereel.guardrail.verdict"
GUARDRAIL_REASON: Final = "tracereel.guardrail.reason"
VERDICT_PASS: Final = "pass"
VERDICT_VIOLATION: Final = "violation"
ESCALATION: Final = "tracereel.escalation"
ESCALATION_REASON: Final = "tracereel.escalation.reason"
HANDOFF_TARGET_TYPE: Final = "tracereel.handoff.target_type"
# On a sub-agent's span when another agent handed the task to it (integrations: the Agents SDK).
HANDOFF_FROM: Final = "tracereel.handoff.from"
TASK_SUCCESS: Final = "tracereel.task.success"
GROUNDEDNESS: Final = "tracereel.groundedness"
SCORE_PREFIX: Final = "tracereel.score."
PLAN_STEPS: Final = "tracereel.plan.steps"
RETRY_ATTEMPT: Final = "tracereel.retry.attempt"
COST_USD: Final = "tracereel.cost.usd"
REPLAY_OF: Final = "tracereel.replay.of"
REPLAY_MODE: Final = "tracereel.replay.mode"
REPLAY_DIVERGED_AT: Final = "tracereel.replay.diverged_at"
# On the root span of an eval case's run (a replay, or a live run of a case without a trace):
# which run, dataset, case and variant it was. Such traces are kept out of production metrics.
EVAL_RUN_ID: Final = "tracereel.eval.run_id"
EVAL_DATASET: Final = "tracereel.eval.dataset"
EVAL_CASE_ID: Final = "tracereel.eval.case_id"
EVAL_VARIANT: Final = "tracereel.eval.variant"
# On each call of a replay: where its result came from (tape | live | override | stub | fault | killed).
REPLAY_SOURCE: Final = "tracereel.replay.source"
# The source file of an entry point defined in a script run as ``__main__`` (replay loads it from there).
ENTRYPOINT_FILE: Final = "tracereel.entrypoint.file"
# Wall clock / random / uuid4 values agent code drew, as JSON chunks ``{"seq": n, "values": [[kind, value], ...]}``.
NONDETERMINISM: Final = "tracereel.nondeterminism"
# A zero-length child of a task's root span, exported when the task starts: its entry point and
# input survive a crash that loses the root span itself.
TASK_START: Final = "tracereel.task.start"
TASK_START_SPAN_PREFIX: Final = "task_start "

# On an @agent span whose body a kill switch stopped (DESIGN.md "Control"): true, and the switch's reason.
KILLED: Final = "tracereel.killed"
KILLED_REASON: Final = "tracereel.killed.reason"

# The kinds the collector classifies every span into (DESIGN.md, "Span conventions").
KINDS: Final = ("agent", "llm", "tool", "guardrail", "other")
