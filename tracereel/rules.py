"""The rules of reading a task's spans, each written once, in Python and as the SQL made from it.

The collector decides these in ClickHouse SQL (materialized columns, the per-task rollup, the
read queries); replay, the CLI, the dashboard and the evals decide them in Python over the read
API's JSON. Both forms are built here from the same definitions (attribute names, spellings),
and tests/shared/test_rules.py runs the SQL in chDB and the Python over one table of cases.

- **flags**: an attribute is true when it reads ``true`` or ``1`` (any case), false for
  ``false`` or ``0``, unset otherwise (OTLP bools arrive as ``true``/``false``);
- **task outcome**: ``tracereel.task.success`` on the root if set, else the root is not ERROR;
- **escalation**: a span or event with ``tracereel.escalation`` true, or a handoff with
  ``tracereel.handoff.target_type=human``;
- **tokens**: ``gen_ai.usage.*`` (else OpenInference's ``llm.token_count.*``), summed over LLM
  spans only (pydantic-ai repeats its model calls' usage on its agent span);
- **the task's agent**: the root span's agent name, else the first agent span below it;
- **payloads** (Python only): what each kind of span took and gave, in order of preference;
- **search text**: what full-text search reads of a span: its payload attributes
  (:data:`PAYLOAD_ATTRIBUTES`, whatever its kind), lower-cased, joined by newlines;
- **scores** (DESIGN.md "Production loop"): a score passes when its value is at least 0.5
  (``groundedness_rate`` counts a task grounded when its latest groundedness passes; a failing
  online score is one below it); feedback is negative below 0 (thumbs-down is -1); a task's
  score of a name is its latest, whatever its source;
- **call addresses** ``kind:name#N`` (Python only): how ``replay --override`` and ``tracereel show``
  name a call.

The SQL is written for the ``otel_traces`` columns (``SpanAttributes``, ``SpanName``, ``Kind``,
``IsRoot``, ``AgentName`` ...), see collector/store/migrations.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from tracereel import semconv as sc
from tracereel.traces import is_error, span_kind

__all__ = [
    "AGENT_LABEL_SQL",
    "AGENT_NAME_SQL",
    "ESCALATED_SQL",
    "FALSE_SPELLINGS",
    "FIRST_AGENT_SQL",
    "INPUT_TOKENS_SQL",
    "NO_AGENT_SQL",
    "OUTPUT_TOKENS_SQL",
    "PASSING_SCORE",
    "PAYLOAD_ATTRIBUTES",
    "SEARCH_TEXT_SQL",
    "TRUE_SPELLINGS",
    "agent_label",
    "agent_name",
    "boundary_kind",
    "call_addresses",
    "call_name",
    "escalation_reason",
    "escalation_reasons",
    "flag",
    "flag_sql",
    "is_true",
    "is_true_sql",
    "negative_feedback",
    "negative_feedback_sql",
    "payload",
    "score_passes",
    "score_passes_sql",
    "search_text",
    "span_tokens",
    "task_agent",
    "task_agent_sql",
    "task_success",
    "task_success_sql",
    "task_tokens",
]

_A: Final = "SpanAttributes"

# --- flags --------------------------------------------------------------------------------

TRUE_SPELLINGS: Final = ("true", "1")
FALSE_SPELLINGS: Final = ("false", "0")


def _quoted(values: Sequence[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def flag(value: Any) -> bool | None:
    """An attribute read as a flag: True, False, or None when it is unset or says neither."""
    if value is None:
        return None
    text = str(value).lower()  # a Python bool (a span built in-process) reads "true"/"false"
    if text in TRUE_SPELLINGS:
        return True
    if text in FALSE_SPELLINGS:
        return False
    return None


def is_true(value: Any) -> bool:
    """Whether an attribute reads as true (:func:`flag`)."""
    return flag(value) is True


def is_true_sql(expr: str) -> str:
    """SQL: whether the String ``expr`` reads as true (:func:`flag`)."""
    return f"lower({expr}) IN {_quoted(TRUE_SPELLINGS)}"


def flag_sql(expr: str) -> str:
    """SQL: the String ``expr`` as 1 (true), 0 (false) or -1 (neither), as :func:`flag` reads it."""
    return f"multiIf({is_true_sql(expr)}, 1, lower({expr}) IN {_quoted(FALSE_SPELLINGS)}, 0, -1)"


def _attrs(span: Mapping[str, Any]) -> Mapping[str, Any]:
    attrs: Mapping[str, Any] = span.get("attributes") or {}
    return attrs


# --- task outcome -------------------------------------------------------------------------


def task_success(root: Mapping[str, Any]) -> bool:
    """Whether the task whose root span is ``root`` succeeded: its ``tracereel.task.success`` flag if set,
    else the root did not end in ERROR."""
    said = flag(_attrs(root).get(sc.TASK_SUCCESS))
    return (not is_error(root)) if said is None else said


def task_success_sql(success_flag: str, root_error: str) -> str:
    """SQL: :func:`task_success` from the root's flag column (1/0/-1, :func:`flag_sql`) and its ERROR status (1/0)."""
    return f"if({success_flag} >= 0, {success_flag} = 1, {root_error} = 0)"


# --- escalation ---------------------------------------------------------------------------

ESCALATED_SQL: Final = (
    f"{is_true_sql(f'{_A}[{sc.ESCALATION!r}]')} OR {_A}[{sc.HANDOFF_TARGET_TYPE!r}] = 'human' "
    f"OR arrayExists(a -> {is_true_sql(f'a[{sc.ESCALATION!r}]')}, `Events.Attributes`)"
)
"""SQL over one span: whether it escalates to a human (:func:`escalation_reason`)."""


def escalation_reason(span: Mapping[str, Any]) -> str | None:
    """The reason if ``span`` (or one of its events) escalates the task to a human, else None.

    An escalation is a span or event with ``tracereel.escalation`` true (``tracereel.escalate``
    writes a span), or a handoff whose ``tracereel.handoff.target_type`` is ``human``.
    """
    attrs = _attrs(span)
    if is_true(attrs.get(sc.ESCALATION)) or str(attrs.get(sc.HANDOFF_TARGET_TYPE, "")) == "human":
        return str(attrs.get(sc.ESCALATION_REASON, ""))
    events: Sequence[Mapping[str, Any]] = span.get("events") or []
    for event in events:
        event_attrs: Mapping[str, Any] = event.get("attributes") or {}
        if is_true(event_attrs.get(sc.ESCALATION)):
            return str(event_attrs.get(sc.ESCALATION_REASON, ""))
    return None


def escalation_reasons(spans: Sequence[Mapping[str, Any]]) -> list[str]:
    """The reason of every escalation among ``spans``, in their order (empty: the task did not escalate)."""
    return [reason for span in spans if (reason := escalation_reason(span)) is not None]


# --- payloads -----------------------------------------------------------------------------

# kind -> (input attributes, output attributes), in order of preference: the GenAI conventions and
# tracereel's own, then OpenInference's input.value / output.value.
_PAYLOADS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "agent": ((sc.AGENT_INPUT, sc.INPUT_VALUE), (sc.AGENT_OUTPUT, sc.OUTPUT_VALUE)),
    "llm": ((sc.LLM_ARGUMENTS, sc.INPUT_MESSAGES, sc.INPUT_VALUE), (sc.OUTPUT_MESSAGES, sc.OUTPUT_VALUE)),
    "tool": ((sc.TOOL_CALL_ARGUMENTS, sc.INPUT_VALUE), (sc.TOOL_CALL_RESULT, sc.OUTPUT_VALUE)),
}


def payload(span: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """What an agent, LLM or tool span took and gave (JSON or text), each None if not recorded.

    Guardrail and other spans carry no payload here (a guardrail's verdict is its own attribute).
    """
    inputs, outputs = _PAYLOADS.get(span_kind(span), ((), ()))
    attrs = _attrs(span)

    def first(names: tuple[str, ...]) -> str | None:
        return next((str(attrs[n]) for n in names if attrs.get(n) not in (None, "")), None)

    return first(inputs), first(outputs)


# --- search text --------------------------------------------------------------------------

# The attributes full-text search reads (issue 24): inputs, outputs, messages, tool arguments and
# results, tracereel's, the GenAI conventions' and OpenInference's. The search table's view
# (collector/store/migrations.py) and any Python reader take the names from here.
PAYLOAD_ATTRIBUTES: Final = (
    sc.AGENT_INPUT,
    sc.AGENT_OUTPUT,
    sc.INPUT_MESSAGES,
    sc.OUTPUT_MESSAGES,
    sc.TOOL_CALL_ARGUMENTS,
    sc.TOOL_CALL_RESULT,
    sc.INPUT_VALUE,
    sc.OUTPUT_VALUE,
)
# Newline-joined: a search word is whitespace-free, so it never matches across two attributes.
SEARCH_TEXT_SQL: Final = (
    "lowerUTF8(arrayStringConcat(arrayFilter(v -> v != '', ["
    + ", ".join(f"{_A}['{name}']" for name in PAYLOAD_ATTRIBUTES)
    + "]), '\\n'))"
)


def search_text(span: Mapping[str, Any]) -> str:
    """A span's payload attributes (:data:`PAYLOAD_ATTRIBUTES`) in order, the empty ones left out,
    lower-cased and joined by newlines; what search finds words in. Empty if it has none."""
    attrs = _attrs(span)
    return "\n".join(str(attrs[n]) for n in PAYLOAD_ATTRIBUTES if attrs.get(n) not in (None, "")).lower()


# --- tokens -------------------------------------------------------------------------------

_INPUT_TOKEN_ATTRS: Final = (sc.USAGE_INPUT_TOKENS, "llm.token_count.prompt")
_OUTPUT_TOKEN_ATTRS: Final = (sc.USAGE_OUTPUT_TOKENS, "llm.token_count.completion")


def _tokens_sql(names: tuple[str, str]) -> str:
    first, fallback = (f"{_A}[{n!r}]" for n in names)
    return f"toUInt64OrZero(if({first} != '', {first}, {fallback}))"


INPUT_TOKENS_SQL: Final = _tokens_sql(_INPUT_TOKEN_ATTRS)
"""SQL over one span: its input tokens (the ``InputTokens`` column)."""
OUTPUT_TOKENS_SQL: Final = _tokens_sql(_OUTPUT_TOKEN_ATTRS)
"""SQL over one span: its output tokens (the ``OutputTokens`` column)."""


def _count(value: Any) -> int:
    # As toUInt64OrZero reads a string: plain decimal digits, anything else is 0.
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() else 0


def _tokens(attrs: Mapping[str, Any], names: tuple[str, str]) -> int:
    first = attrs.get(names[0])
    return _count(first if first not in (None, "") else attrs.get(names[1], ""))


def span_tokens(span: Mapping[str, Any]) -> tuple[int, int]:
    """A span's (input, output) tokens as its attributes record them, whatever its kind."""
    attrs = _attrs(span)
    return _tokens(attrs, _INPUT_TOKEN_ATTRS), _tokens(attrs, _OUTPUT_TOKEN_ATTRS)


def task_tokens(spans: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
    """A task's (input, output) tokens: summed over its LLM spans only.

    Some instrumentations (pydantic-ai) repeat their model calls' usage on the agent span; summing
    every span would count those tokens twice.
    """
    total_in = total_out = 0
    for span in spans:
        if span_kind(span) == "llm":
            tokens_in, tokens_out = span_tokens(span)
            total_in, total_out = total_in + tokens_in, total_out + tokens_out
    return total_in, total_out


# --- the task's agent ---------------------------------------------------------------------

_AGENT_NAME_ATTRS: Final = (sc.AGENT_NAME, "agent.name")
_HANDOFF_SPAN_PREFIX: Final = "handoff to "

AGENT_NAME_SQL: Final = (
    f"if({_A}['{_AGENT_NAME_ATTRS[0]}'] != '', {_A}['{_AGENT_NAME_ATTRS[0]}'], {_A}['{_AGENT_NAME_ATTRS[1]}'])"
)
"""SQL over one span: the agent it names (the ``AgentName`` column)."""

AGENT_LABEL_SQL: Final = (
    f"if(AgentName != '', toString(AgentName), if({_A}['{sc.GRAPH_NODE_ID}'] != '', {_A}['{sc.GRAPH_NODE_ID}'], "
    f"if(startsWith(SpanName, '{sc.OP_INVOKE_AGENT} '), substring(SpanName, {len(sc.OP_INVOKE_AGENT) + 2}), "
    "toString(SpanName))))"
)
"""SQL over one agent span: the name to show for it (:func:`agent_label`)."""

# The first agent span below the root, as a tuple that min() picks across rows: (start ns, label, version).
# A row without one holds NO_AGENT, which loses every min() against a real start time.
NO_AGENT_SQL: Final = "(toUInt64(18446744073709551615), '', '')"
FIRST_AGENT_SQL: Final = (
    f"min(if(Kind = 'agent' AND IsRoot = 0 AND NOT startsWith(SpanName, '{_HANDOFF_SPAN_PREFIX}'), "
    f"(toUInt64(toUnixTimestamp64Nano(Timestamp)), {AGENT_LABEL_SQL}, toString(AgentVersion)), {NO_AGENT_SQL}))"
)
"""SQL aggregate over a task's spans: its first agent span below the root (:func:`task_agent`)."""


def task_agent_sql(root_agent: str, root_version: str, first_agent: str) -> tuple[str, str]:
    """SQL: the task's agent and version (:func:`task_agent`) from the root's agent name and version and the
    :data:`FIRST_AGENT_SQL` tuple."""
    return (
        f"if({root_agent} != '', {root_agent}, {first_agent}.2)",
        f"if({root_agent} != '', {root_version}, {first_agent}.3)",
    )


def agent_name(span: Mapping[str, Any]) -> str:
    """The agent a span names: ``gen_ai.agent.name``, else OpenInference's ``agent.name`` ("" for none)."""
    attrs = _attrs(span)
    for name in _AGENT_NAME_ATTRS:
        value = str(attrs.get(name, "") or "")
        if value:
            return value
    return ""


def agent_label(span: Mapping[str, Any]) -> str:
    """The name to show for an agent span: the agent it names, else its graph node, else its span name
    (without ``invoke_agent``)."""
    named = agent_name(span)
    if named:
        return named
    node = str(_attrs(span).get(sc.GRAPH_NODE_ID, "") or "")
    if node:
        return node
    return str(span.get("name", "")).removeprefix(f"{sc.OP_INVOKE_AGENT} ")


def task_agent(spans: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """The task's agent and its version: the root span's agent, else the first agent span below the root.

    A LangGraph task's root is a chain and the OpenAI Agents SDK's root ("Agent workflow") names
    no agent: the task belongs to the first agent span that ran in it (by start, then name).
    Handoff spans ("handoff to X") are the handing-off, not an agent. ``("", "")`` if none.
    """
    roots = [span for span in spans if not span.get("parent_span_id")]
    # Several roots (a crash's orphans) combine as the rollup's max() does.
    root_agent = max((agent_name(span) for span in roots), default="")
    if root_agent:
        return root_agent, max((str(_attrs(span).get(sc.AGENT_VERSION, "") or "") for span in roots), default="")
    candidates = [
        (int(span.get("start_time_unix_nano") or 0), agent_label(span), str(_attrs(span).get(sc.AGENT_VERSION, "")))
        for span in spans
        if span.get("parent_span_id")
        and span_kind(span) == "agent"
        and not str(span.get("name", "")).startswith(_HANDOFF_SPAN_PREFIX)
    ]
    if not candidates:
        return "", ""
    _, label, version = min(candidates)
    return label, version


# --- Call addresses: ``kind:name#N``, how ``replay --override`` and ``tracereel show`` name a call ---------


def boundary_kind(span: Mapping[str, Any]) -> Literal["agent", "tool", "llm"] | None:
    """The kind of call a span records, if the tracereel SDK recorded it as one replay can serve.

    An ``@agent`` span with its input or entry point, a tool or LLM call with its arguments hash;
    anything else (other instrumentations' spans, HTTP spans) is looked through.
    """
    attrs = _attrs(span)
    operation = attrs.get(sc.OPERATION_NAME)
    if operation == sc.OP_INVOKE_AGENT and (sc.AGENT_INPUT in attrs or sc.ENTRYPOINT in attrs):
        return "agent"
    if operation == sc.OP_EXECUTE_TOOL and sc.ARGS_HASH in attrs:
        return "tool"
    if operation == sc.OP_CHAT and sc.ARGS_HASH in attrs:
        return "llm"
    return None


def call_name(span: Mapping[str, Any], kind: str) -> str:
    """The name in a call's address: the agent's name, the tool's name, or the LLM call's model."""
    attrs = _attrs(span)
    if kind == "agent":
        return str(attrs.get(sc.AGENT_NAME, ""))
    if kind == "tool":
        return str(attrs.get(sc.TOOL_NAME, ""))
    return str(attrs.get(sc.REQUEST_MODEL, "unknown"))


def call_addresses(spans: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """``kind:name#N`` of every call inside the task, by span id.

    The calls (:func:`boundary_kind`) form a tree in which each call's parent is its nearest
    enclosing call (other spans are looked through). Walking the task's tree depth first, each
    call's children in the order they started (then by span id), the Nth call of a kind and name
    is ``#N``. The task is the earliest root ``@agent`` call; for a run whose root span never
    arrived, the calls under the root its task-start marker names. Calls outside the task
    (threads without its context) have no address.
    """
    by_id = {str(s.get("span_id", "")): s for s in spans}
    calls = {span_id: kind for span_id, s in by_id.items() if (kind := boundary_kind(s)) is not None}

    def parent_call(span_id: str) -> str:
        seen: set[str] = set()
        current = str(by_id[span_id].get("parent_span_id") or "")
        while current and current not in calls and current in by_id and current not in seen:
            seen.add(current)
            current = str(by_id[current].get("parent_span_id") or "")
        return current

    def start(span_id: str) -> tuple[int, str]:
        return int(by_id[span_id].get("start_time_unix_nano") or 0), span_id

    children: dict[str, list[str]] = {}
    for span_id in calls:
        children.setdefault(parent_call(span_id), []).append(span_id)
    roots = [c for c in children.get("", []) if calls[c] == "agent"]
    if roots:
        task = min(roots, key=start)
    else:
        markers = [s for s in spans if is_true(_attrs(s).get(sc.TASK_START))]
        if not markers:
            return {}
        task = str(markers[0].get("parent_span_id") or "")
    addresses: dict[str, str] = {}
    counters: dict[tuple[str, str], int] = {}
    stack = sorted(children.get(task, []), key=start, reverse=True)
    while stack:
        span_id = stack.pop()
        key = (calls[span_id], call_name(by_id[span_id], calls[span_id]))
        counters[key] = counters.get(key, 0) + 1
        addresses[span_id] = f"{key[0]}:{key[1]}#{counters[key]}"
        stack.extend(sorted(children.get(span_id, []), key=start, reverse=True))
    return addresses


# --- scores ---------------------------------------------------------------------------------------

PASSING_SCORE: Final = 0.5


def score_passes(value: float) -> bool:
    """Whether a score of ``value`` passes: at least :data:`PASSING_SCORE` (1 pass / 0 fail, 0..1 judges)."""
    return value >= PASSING_SCORE


def score_passes_sql(value: str) -> str:
    """SQL: :func:`score_passes` of the Float64 expression ``value``."""
    return f"({value} >= {PASSING_SCORE})"


def negative_feedback(value: float) -> bool:
    """Whether a feedback score of ``value`` is negative: below 0 (a thumbs-down is -1, a thumbs-up +1)."""
    return value < 0


def negative_feedback_sql(value: str) -> str:
    """SQL: :func:`negative_feedback` of the Float64 expression ``value``."""
    return f"({value} < 0)"
