"""The store's schema as ordered, named migrations, each recorded in ``tracereel_migrations``.

``otel_traces`` and its trace-id lookup keep the DDL of the OpenTelemetry Collector ClickHouse
exporter (exporter/clickhouseexporter/internal/sqltemplates, bloom-filter variant), so a
table written by a stock collector can be read (and migrated) too. One deliberate difference:
the exporter's four bloom filters over attribute map keys and values are left out. They
tripled insert time in bench/ingest.py and none of tracereel's queries can use them (agent
fields are MATERIALIZED columns); a table created by the exporter keeps them and works the same.
What agent queries need is added as MATERIALIZED columns: ClickHouse computes them on
insert, and for parts written before the column existed, on read. Everything here must be
accepted by a ClickHouse server as well as by chDB: no chDB-only syntax.
"""

from __future__ import annotations

from typing import Final

from tracereel import semconv as sc
from tracereel.collector.store.hours import CHANGES_STATEMENTS, HOURS_STATEMENTS
from tracereel.collector.store.rollup import (
    ROLLUP_MARKS_STATEMENTS,
    ROLLUP_STATEMENTS,
    ROLLUP_TASK_AGENT_STATEMENTS,
    ROLLUP_TEAM_STATEMENTS,
)
from tracereel.collector.store.tables import (
    AUDIT_TABLE,
    CALLS_TABLE,
    EVAL_RUNS_TABLE,
    FAILURE_CLUSTERS_TABLE,
    KEYS_TABLE,
    MIGRATIONS_TABLE,
    MONITOR_HISTORY_TABLE,
    MONITOR_STATE_TABLE,
    MONITORS_TABLE,
    ONLINE_RULES_TABLE,
    REVIEW_QUEUES_TABLE,
    REVIEWS_TABLE,
    ROLLUP_TABLE,
    SCORES_TABLE,
    SEARCH_NGRAM,
    SEARCH_TABLE,
    SWITCHES_TABLE,
    TRACE_ID_PROJECTION,
    TRACE_ID_TS_TABLE,
    TRACES_TABLE,
)
from tracereel.collector.store.task_list import TASK_LIST_STATEMENTS
from tracereel.rules import (
    AGENT_NAME_SQL,
    ESCALATED_SQL,
    INPUT_TOKENS_SQL,
    OUTPUT_TOKENS_SQL,
    SEARCH_TEXT_SQL,
    flag_sql,
    is_true_sql,
)

__all__ = ["MIGRATIONS", "MIGRATIONS_TABLE_DDL", "Migration"]

Migration = tuple[str, tuple[str, ...]]

# The record of applied migrations: one row per migration name (created before any migration runs).
MIGRATIONS_TABLE_DDL: Final = (
    f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} "
    "(name String, applied_at DateTime64(3) DEFAULT now64(3)) ENGINE = MergeTree ORDER BY name"
)

# Status spellings across exporter versions: ours and newer ones write Unset/Ok/Error,
# older ones STATUS_CODE_*.
_STATUS = (
    "multiIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR', 'ERROR'), 'ERROR', "
    "StatusCode IN ('Ok', 'STATUS_CODE_OK', 'OK'), 'OK', 'UNSET')"
)
_A = "SpanAttributes"
_OI_KIND = f"{_A}['openinference.span.kind']"
_OPERATION = f"{_A}['gen_ai.operation.name']"
_LLM_OPERATIONS = "('chat', 'text_completion', 'generate_content', 'embeddings')"
# Another instrumentation's handoff to a sub-agent is an agent span, not a tool call (tracereel/traces.py
# span_kind says the same in Python): OpenInference's "handoff to X" spans, tool calls named
# transfer_to_X (how the Agents SDK and LangGraph name handoff tools), and agent-graph nodes that
# name the node they came from (graph.node.parent_id).
_HANDOFF = (
    "startsWith(SpanName, 'handoff to ') OR "
    f"(({_OPERATION} = 'execute_tool' OR {_OI_KIND} = 'TOOL') AND ("
    f"startsWith({_A}['gen_ai.tool.name'], 'transfer_to_') OR startsWith({_A}['tool.name'], 'transfer_to_') "
    "OR startsWith(SpanName, 'transfer_to_') OR startsWith(SpanName, 'execute_tool transfer_to_'))) OR "
    f"({_A}['graph.node.parent_id'] != '' AND {_OI_KIND} IN ('AGENT', 'CHAIN', 'TOOL', '') "
    f"AND {_OPERATION} NOT IN {_LLM_OPERATIONS})"
)
# agent / llm / tool / guardrail / other: handoffs first, then the GenAI operation, then OpenInference,
# then the name.
_KIND = (
    "multiIf("
    f"{_HANDOFF}, 'agent', "
    f"{_OPERATION} IN ('invoke_agent', 'create_agent'), 'agent', "
    f"{_OPERATION} IN {_LLM_OPERATIONS}, 'llm', "
    f"{_OPERATION} = 'execute_tool', 'tool', "
    f"{_OI_KIND} = 'AGENT', 'agent', "
    f"{_OI_KIND} IN ('LLM', 'EMBEDDING'), 'llm', "
    f"{_OI_KIND} = 'TOOL', 'tool', "
    f"{_OI_KIND} = 'GUARDRAIL', 'guardrail', "
    f"mapContains({_A}, 'tracereel.guardrail.verdict'), 'guardrail', "
    "startsWith(SpanName, 'invoke_agent'), 'agent', "
    "startsWith(SpanName, 'chat ') OR startsWith(SpanName, 'text_completion '), 'llm', "
    "startsWith(SpanName, 'execute_tool'), 'tool', "
    "startsWith(SpanName, 'guardrail'), 'guardrail', "
    "'other')"
)

_MATERIALIZED: Final = (
    ("Status", "LowCardinality(String)", _STATUS),
    ("Kind", "LowCardinality(String)", _KIND),
    ("Operation", "LowCardinality(String)", f"{_A}['gen_ai.operation.name']"),
    ("AgentName", "LowCardinality(String)", AGENT_NAME_SQL),
    ("AgentVersion", "LowCardinality(String)", f"{_A}['gen_ai.agent.version']"),
    (
        "ToolName",
        "LowCardinality(String)",
        f"if({_A}['gen_ai.tool.name'] != '', {_A}['gen_ai.tool.name'], {_A}['tool.name'])",
    ),
    (
        "Model",
        "LowCardinality(String)",
        f"multiIf({_A}['gen_ai.request.model'] != '', {_A}['gen_ai.request.model'], "
        f"{_A}['gen_ai.response.model'] != '', {_A}['gen_ai.response.model'], {_A}['llm.model_name'])",
    ),
    ("InputTokens", "UInt64", INPUT_TOKENS_SQL),
    ("OutputTokens", "UInt64", OUTPUT_TOKENS_SQL),
    ("ArgsHash", "String", f"{_A}['tracereel.args_hash']"),
    ("ErrorType", "LowCardinality(String)", f"{_A}['error.type']"),
    ("RetryAttempt", "Int32", f"toInt32OrZero({_A}['tracereel.retry.attempt'])"),
    ("IsRoot", "UInt8", "ParentSpanId = ''"),
)

# What the metrics read, computed once on insert so a 7-day query never opens the attribute map
# (whose JSON payloads are most of the bytes). See collector/query/metrics.py.
_CALL_ARGS = (
    f"multiIf({_A}['tracereel.args_hash'] != '', {_A}['tracereel.args_hash'], "
    f"{_A}['gen_ai.tool.call.arguments'] != '', {_A}['gen_ai.tool.call.arguments'], "
    f"{_A}['gen_ai.input.messages'] != '', {_A}['gen_ai.input.messages'], "
    f"{_A}['input.value'])"
)
_METRIC_COLUMNS: Final = (
    # Identity of a call's arguments (args hash, else the arguments or input messages); 0 = none recorded.
    ("CallKey", "UInt64", f"if({_CALL_ARGS} != '', cityHash64({_CALL_ARGS}), 0)"),
    # -1 = not recorded, else 0/1 (tracereel/rules.py, task outcome).
    ("TaskSuccess", "Int8", flag_sql(f"{_A}['tracereel.task.success']")),
    ("Groundedness", "Nullable(Float64)", f"toFloat64OrNull({_A}['tracereel.groundedness'])"),
    ("CostUsd", "Nullable(Float64)", f"toFloat64OrNull({_A}['tracereel.cost.usd'])"),
    (
        "PlanLength",
        "Int32",
        f"if({_A}['tracereel.plan.steps'] != '', toInt32(JSONLength({_A}['tracereel.plan.steps'])), -1)",
    ),
    (
        "GuardrailViolation",
        "UInt8",
        f"{_A}['tracereel.guardrail.verdict'] = 'violation' OR "
        f"({_A}['openinference.span.kind'] = 'GUARDRAIL' AND {_STATUS} = 'ERROR')",
    ),
    ("Escalated", "UInt8", ESCALATED_SQL),
    # error.type, else the exception event's exception.type (instrumentations that only record the event).
    (
        "ErrorClass",
        "LowCardinality(String)",
        f"if({_A}['error.type'] != '', {_A}['error.type'], "
        "arrayFilter((a, n) -> n = 'exception', `Events.Attributes`, `Events.Name`)[1]['exception.type'])",
    ),
)

# The SDK's scores (tracereel.score(): tracereel.groundedness and tracereel.score.NAME on a span) as
# rows of the scores table, source 'sdk', timed at the span's end. The id is the span's and the
# name's, so a span stored twice is one score.
_SDK_SCORE_KEY = (
    f"arrayJoin(arrayFilter(k -> k = '{sc.GROUNDEDNESS}' OR startsWith(k, '{sc.SCORE_PREFIX}'), mapKeys({_A})))"
)


def _sdk_scores_select(trace_start: bool) -> str:
    # ``trace_start``: as of migration 0022, the scores table's TraceStart (the span's start: a score's task
    # starts before it, by at most the skew the metrics allow).
    start = ", toDateTime64(Timestamp, 6, 'UTC') AS TraceStart" if trace_start else ""
    return f"""SELECT concat('sdk:', SpanId, ':', Name) AS ScoreId, Team, TraceId, Name,
       assumeNotNull(toFloat64OrNull({_A}[key])) AS Value, CAST(NULL, 'Nullable(String)') AS Label, '' AS Comment,
       'sdk' AS Source, '' AS Author,
       toDateTime64(fromUnixTimestamp64Nano(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration)), 6, 'UTC')
           AS Time{start}
FROM (
    SELECT *, {_SDK_SCORE_KEY} AS key,
           if(key = '{sc.GROUNDEDNESS}', 'groundedness', substring(key, {len(sc.SCORE_PREFIX) + 1})) AS Name
    FROM {TRACES_TABLE}
    WHERE mapContains({_A}, '{sc.GROUNDEDNESS}') OR arrayExists(k -> startsWith(k, '{sc.SCORE_PREFIX}'), mapKeys({_A}))
)
WHERE toFloat64OrNull({_A}[key]) IS NOT NULL AND Name != ''"""


_SDK_SCORES_SELECT = _sdk_scores_select(trace_start=False)
_SCORE_COLUMNS = "ScoreId, Team, TraceId, Name, Value, Label, Comment, Source, Author, Time"

_KILLED = is_true_sql(f"{_A}['tracereel.killed']")

MIGRATIONS: Final[tuple[Migration, ...]] = (
    (
        "0001_otel_traces",
        (
            f"""CREATE TABLE IF NOT EXISTS {TRACES_TABLE} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1""",
        ),
    ),
    (
        "0002_trace_id_ts",
        (
            f"""CREATE TABLE IF NOT EXISTS {TRACE_ID_TS_TABLE} (
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))
) ENGINE = AggregatingMergeTree()
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1""",
            f"""CREATE MATERIALIZED VIEW IF NOT EXISTS {TRACE_ID_TS_TABLE}_mv
TO {TRACE_ID_TS_TABLE}
AS SELECT
    TraceId,
    min(Timestamp) AS Start,
    max(Timestamp) AS End
FROM {TRACES_TABLE}
WHERE TraceId != ''
GROUP BY TraceId""",
        ),
    ),
    (
        "0003_agent_columns",
        tuple(
            f"ALTER TABLE {TRACES_TABLE} ADD COLUMN IF NOT EXISTS {name} {type_} MATERIALIZED {expr}"
            for name, type_, expr in _MATERIALIZED
        ),
    ),
    (
        "0004_metrics_columns",
        tuple(
            f"ALTER TABLE {TRACES_TABLE} ADD COLUMN IF NOT EXISTS {name} {type_} MATERIALIZED {expr}"
            for name, type_, expr in _METRIC_COLUMNS
        ),
    ),
    # Per-task facts kept at insert time, so the metrics never group raw spans (collector/store/rollup.py).
    ("0005_task_rollup", ROLLUP_STATEMENTS),
    # A replay (tracereel replay) is recorded as a new trace whose root names the original; the
    # metrics leave such traces out, so replaying a failure does not count as production traffic.
    (
        "0006_replay_flag",
        (
            f"ALTER TABLE {TRACES_TABLE} ADD COLUMN IF NOT EXISTS IsReplay UInt8 "
            f"MATERIALIZED mapContains({_A}, 'tracereel.replay.of')",
            # Parts written before this migration get the column too (a background mutation),
            # rather than computing it from the attribute map on every metrics query.
            f"ALTER TABLE {TRACES_TABLE} MATERIALIZE COLUMN IsReplay",
        ),
    ),
    # Eval runs (tracereel eval): one row per run, the whole report kept as JSON next to the columns
    # the history list and its filters read. Sorted by dataset then time, so the history of one
    # dataset is one range and retention can drop whole monthly partitions.
    (
        "0007_eval_runs",
        (
            f"""CREATE TABLE IF NOT EXISTS {EVAL_RUNS_TABLE} (
    RunId String CODEC(ZSTD(1)),
    Dataset LowCardinality(String) CODEC(ZSTD(1)),
    StartedAt DateTime64(6, 'UTC') CODEC(Delta(8), ZSTD(1)),
    Agent String CODEC(ZSTD(1)),
    PassRate Float64,
    Scores Map(String, Float64) CODEC(ZSTD(1)),
    CaseCount UInt32,
    PassedCount UInt32,
    GatePassed UInt8,
    Regressions Array(String) CODEC(ZSTD(1)),
    BaselineRunId String CODEC(ZSTD(1)),
    Report String CODEC(ZSTD(3)),
    StoredAt DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_run_id RunId TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(StartedAt)
ORDER BY (Dataset, StartedAt, RunId)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1""",
        ),
    ),
    # Each case of an eval run is a trace whose root carries tracereel.eval.run_id; like replays,
    # those traces are listed and readable but not counted as production tasks.
    (
        "0008_eval_flag",
        (
            f"ALTER TABLE {TRACES_TABLE} ADD COLUMN IF NOT EXISTS IsEval UInt8 "
            f"MATERIALIZED mapContains({_A}, 'tracereel.eval.run_id')",
            f"ALTER TABLE {TRACES_TABLE} MATERIALIZE COLUMN IsEval",
        ),
    ),
    # Teams (docs/security.md): the team of the ingest key that sent a span, stamped by the collector
    # whatever the client sent; '' for no team (auth off, or a key without one). A plain column
    # with a default, so the OpenTelemetry Collector exporter's INSERTs (which do not name it)
    # still work. The rollups carry it in their key, the eval runs take the uploader's team.
    (
        "0009_teams",
        (
            f"ALTER TABLE {TRACES_TABLE} ADD COLUMN IF NOT EXISTS Team LowCardinality(String) DEFAULT '' "
            "CODEC(ZSTD(1))",
            *ROLLUP_TEAM_STATEMENTS,
            f"ALTER TABLE {EVAL_RUNS_TABLE} ADD COLUMN IF NOT EXISTS Team LowCardinality(String) DEFAULT ''",
        ),
    ),
    # API keys and the audit log (collector/control/keys.py, audit.py). A key is stored as the
    # SHA-256 of its text, never the text. Revoking writes a newer version of the key's row;
    # ReplacingMergeTree keeps the newest (read with FINAL), so there is no mutation to wait for.
    (
        "0010_keys_audit",
        (
            f"""CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (
    Id String,
    Hash String,
    Team LowCardinality(String),
    Role LowCardinality(String),
    Agents Array(String),
    Services Array(String),
    CreatedAt DateTime64(3, 'UTC'),
    CreatedBy String,
    RevokedAt Nullable(DateTime64(3, 'UTC')),
    Version DateTime64(6, 'UTC') DEFAULT now64(6)
) ENGINE = ReplacingMergeTree(Version)
ORDER BY Id""",
            f"""CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (
    Time DateTime64(3, 'UTC') DEFAULT now64(3),
    KeyId String,
    Action LowCardinality(String),
    Target String,
    Detail String
) ENGINE = MergeTree()
ORDER BY Time""",
        ),
    ),
    # The write-ahead log's drainer repeats a batch after a crash with the same insert
    # deduplication token. Plain MergeTree ignores tokens unless it keeps a window of recent
    # insert hashes; the views' target tables need one too, or the rollups would count twice.
    (
        "0011_insert_dedup",
        tuple(
            f"ALTER TABLE {table} MODIFY SETTING non_replicated_deduplication_window = 1000"
            for table in (TRACES_TABLE, TRACE_ID_TS_TABLE, ROLLUP_TABLE, CALLS_TABLE)
        ),
    ),
    # Kill switches: one row per flip (kill or revive), never updated, so the history stays; a
    # switch's state is its latest row. Team, AgentVersion and ServiceName are '' for "every".
    # IsKilled marks the agent spans a switch blocked, so the metrics count killed tasks
    # without opening the attribute map.
    (
        "0012_switches",
        (
            f"""CREATE TABLE IF NOT EXISTS {SWITCHES_TABLE} (
    Team String CODEC(ZSTD(1)),
    AgentName String CODEC(ZSTD(1)),
    AgentVersion String CODEC(ZSTD(1)),
    ServiceName String CODEC(ZSTD(1)),
    State LowCardinality(String),
    Reason String CODEC(ZSTD(1)),
    ChangedAt DateTime64(6, 'UTC') CODEC(Delta(8), ZSTD(1)),
    KeyId String CODEC(ZSTD(1))
) ENGINE = MergeTree()
ORDER BY (AgentName, Team, AgentVersion, ServiceName, ChangedAt)""",
            f"ALTER TABLE {TRACES_TABLE} ADD COLUMN IF NOT EXISTS IsKilled UInt8 MATERIALIZED {_KILLED}",
            f"ALTER TABLE {TRACES_TABLE} MATERIALIZE COLUMN IsKilled",
        ),
    ),
    # Monitors (tracereel monitor): definitions and current state are small, rewritten rather
    # than updated (ReplacingMergeTree, read with FINAL: the newest row of a key wins), so the
    # same SQL works on chDB and a server. A removed monitor is a newer row with Deleted = 1;
    # state is keyed by the monitor's id, so a monitor re-added under the same name starts afresh.
    # Team: the team of the key that created it ('' for a team-less admin), for scoped reads.
    (
        "0013_monitors",
        (
            f"""CREATE TABLE IF NOT EXISTS {MONITORS_TABLE} (
    Name String,
    MonitorId String,
    Team LowCardinality(String),
    Metric String,
    Op LowCardinality(String),
    Threshold Float64,
    WindowSeconds UInt32,
    Agent String,
    Version String,
    Service String,
    Dataset String,
    MinTasks UInt32,
    NotifyUrl String,
    Format LowCardinality(String),
    RoutingKey String,
    CreatedAt DateTime64(3, 'UTC'),
    UpdatedAt DateTime64(6, 'UTC'),
    Deleted UInt8
) ENGINE = ReplacingMergeTree(UpdatedAt)
ORDER BY Name""",
            # State: what the last evaluation found, and where notification stands: Notified is the
            # last action the receiver accepted for DedupKey, Pending the one still to deliver.
            f"""CREATE TABLE IF NOT EXISTS {MONITOR_STATE_TABLE} (
    MonitorId String,
    Name String,
    Team LowCardinality(String),
    State LowCardinality(String),
    Since DateTime64(6, 'UTC'),
    LastValue Nullable(Float64),
    LastTasks UInt64,
    EvaluatedAt DateTime64(6, 'UTC'),
    Incident UInt32,
    DedupKey String,
    Notified LowCardinality(String),
    Pending LowCardinality(String),
    UpdatedAt DateTime64(6, 'UTC')
) ENGINE = ReplacingMergeTree(UpdatedAt)
ORDER BY MonitorId""",
            # History: every change of state, and every delivery attempt with its outcome.
            f"""CREATE TABLE IF NOT EXISTS {MONITOR_HISTORY_TABLE} (
    MonitorId String,
    Name String,
    Team LowCardinality(String),
    Time DateTime64(6, 'UTC'),
    Kind LowCardinality(String),
    State LowCardinality(String),
    Value Nullable(Float64),
    Tasks UInt64,
    Action LowCardinality(String),
    DedupKey String,
    Attempt UInt32,
    StatusCode UInt16,
    Outcome LowCardinality(String),
    Error String
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(Time)
ORDER BY (MonitorId, Time)
SETTINGS ttl_only_drop_parts = 1""",
        ),
    ),
    # Other instrumentations' handoffs (OpenInference "handoff to X", transfer_to_X tools,
    # graph.node.parent_id) are agent spans, not tool calls: Kind gets the new rule, and parts
    # written before get it too, so the tool counts of old traces are corrected as well.
    (
        "0014_handoff_kind",
        (
            f"ALTER TABLE {TRACES_TABLE} MODIFY COLUMN Kind LowCardinality(String) MATERIALIZED {_KIND}",
            f"ALTER TABLE {TRACES_TABLE} MATERIALIZE COLUMN Kind",
        ),
    ),
    # A task's agent is its root's agent, or else its first agent span (tracereel/rules.py): a
    # LangGraph root is a chain. The rollup keeps each task's first agent span; it is rebuilt from
    # the spans, so the tasks an existing store already holds are found under their agent too.
    ("0015_task_agent", ROLLUP_TASK_AGENT_STATEMENTS),
    # Scores (DESIGN.md "Production loop"): every judgement of a trace in one table. The latest row
    # per (Team, TraceId, ScoreId) is the score (read with FINAL), so a retried post replaces
    # itself. The SDK's scores are copied from their spans, those stored before this migration too.
    (
        "0016_scores",
        (
            f"""CREATE TABLE IF NOT EXISTS {SCORES_TABLE} (
    ScoreId String CODEC(ZSTD(1)),
    Team LowCardinality(String),
    TraceId String CODEC(ZSTD(1)),
    Name LowCardinality(String),
    Value Float64,
    Label Nullable(String) CODEC(ZSTD(1)),
    Comment String CODEC(ZSTD(1)),
    Source LowCardinality(String),
    Author String CODEC(ZSTD(1)),
    Time DateTime64(6, 'UTC') CODEC(Delta(8), ZSTD(1))
) ENGINE = ReplacingMergeTree(Time)
PARTITION BY toYYYYMM(Time)
ORDER BY (Team, TraceId, ScoreId)
SETTINGS ttl_only_drop_parts = 1""",
            f"INSERT INTO {SCORES_TABLE} {_SDK_SCORES_SELECT}",
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {SCORES_TABLE}_sdk_mv TO {SCORES_TABLE} AS {_SDK_SCORES_SELECT}",
        ),
    ),
    # Online rules (tracereel online add): control data like monitors, rewritten rather than
    # updated (ReplacingMergeTree, read with FINAL); a removed rule is a newer row with Deleted = 1.
    # Scorers: the specs as given (``max_steps=8``); the evaluator resolves them, never the collector.
    (
        "0017_online_rules",
        (
            f"""CREATE TABLE IF NOT EXISTS {ONLINE_RULES_TABLE} (
    Name String,
    Team LowCardinality(String),
    Scorers Array(String),
    Agent String,
    Version String,
    Sample Float64,
    Rubric String,
    BackfillSeconds UInt32,
    CreatedAt DateTime64(3, 'UTC'),
    UpdatedAt DateTime64(6, 'UTC'),
    Deleted UInt8
) ENGINE = ReplacingMergeTree(UpdatedAt)
ORDER BY Name""",
        ),
    ),
    # Review queues (DESIGN.md "Production loop"): a queue's definition, the latest row per name (a
    # removal is a row with Deleted = 1), and the verdicts given in it, the latest per (team, queue,
    # trace), so reviewing again replaces the verdict. The expected value is JSON, read back by
    # `tracereel dataset add-reviewed`; the verdict itself is also a score (source review:QUEUE).
    (
        "0018_review_queues",
        (
            f"""CREATE TABLE IF NOT EXISTS {REVIEW_QUEUES_TABLE} (
    Name String,
    Team LowCardinality(String),
    Expr String,
    CreatedAt DateTime64(6, 'UTC'),
    Deleted UInt8,
    UpdatedAt DateTime64(6, 'UTC')
) ENGINE = ReplacingMergeTree(UpdatedAt)
ORDER BY Name""",
            f"""CREATE TABLE IF NOT EXISTS {REVIEWS_TABLE} (
    Team LowCardinality(String),
    Queue String,
    TraceId String CODEC(ZSTD(1)),
    Verdict LowCardinality(String),
    Expected String CODEC(ZSTD(1)),
    Note String CODEC(ZSTD(1)),
    Reason String CODEC(ZSTD(1)),
    Author String CODEC(ZSTD(1)),
    Time DateTime64(6, 'UTC') CODEC(Delta(8), ZSTD(1))
) ENGINE = ReplacingMergeTree(Time)
PARTITION BY toYYYYMM(Time)
ORDER BY (Team, Queue, TraceId)
SETTINGS ttl_only_drop_parts = 1""",
        ),
    ),
    # Failure clusters (DESIGN.md "Production loop"): each cluster's signature and centroid (its top
    # terms and their weights), so a cluster id stays stable as new failures join it. Keyed by team
    # and id; a row written again (ReplacingMergeTree) is the same cluster.
    (
        "0019_failure_clusters",
        (
            f"""CREATE TABLE IF NOT EXISTS {FAILURE_CLUSTERS_TABLE} (
    ClusterId String,
    Team LowCardinality(String),
    Signature String CODEC(ZSTD(1)),
    Terms Array(String) CODEC(ZSTD(1)),
    Weights Array(Float64) CODEC(ZSTD(1)),
    FirstSeen DateTime64(6, 'UTC'),
    UpdatedAt DateTime64(6, 'UTC')
) ENGINE = ReplacingMergeTree(UpdatedAt)
ORDER BY (Team, ClusterId)""",
        ),
    ),
    # The trace list's table (collector/store/task_list.py): roots and task-start markers in start-time order,
    # so the newest tasks are read in order and the read stops early.
    ("0020_trace_list", TASK_LIST_STATEMENTS),
    # Full-text search (issue 24 part 3): each span's payload text (tracereel/rules.py, search text),
    # under a text (inverted) index of its 3-grams. A word that occurs in a text has all its 3-grams
    # there, so the index narrows exactly to candidate granules, for any substring, and position()
    # decides (collector/query/search.py). A word-token index would miss "voice" in "invoices".
    # Newest first within a team. The view comes before the backfill: a span stored in between
    # is written twice, which a search cannot tell (a trace matches or not), never lost.
    # allow_experimental_full_text_index: a ClickHouse server before 26.x wants it to create the
    # index (chDB 26.9 and newer servers accept it and need nothing); a query setting, not stored.
    (
        "0021_search",
        (
            f"""CREATE TABLE IF NOT EXISTS {SEARCH_TABLE} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    Team LowCardinality(String) CODEC(ZSTD(1)),
    Text String CODEC(ZSTD(1)),
    INDEX idx_text Text TYPE text(tokenizer = ngrams({SEARCH_NGRAM}))
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
ORDER BY (Team, Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000,
    allow_experimental_full_text_index = 1""",
            f"""CREATE MATERIALIZED VIEW IF NOT EXISTS {SEARCH_TABLE}_mv TO {SEARCH_TABLE} AS
SELECT Timestamp, TraceId, Team, {SEARCH_TEXT_SQL} AS Text FROM {TRACES_TABLE} WHERE Text != ''""",
            f"""INSERT INTO {SEARCH_TABLE} (Timestamp, TraceId, Team, Text)
SELECT Timestamp, TraceId, Team, {SEARCH_TEXT_SQL} AS Text FROM {TRACES_TABLE} WHERE Text != ''""",
        ),
    ),
    # Sealed hours (DESIGN.md "Metric definitions", collector/store/hours.py): the rollup keeps each task's
    # replay/eval and kill marks and its explicitly priced usage per model (rebuilt from the spans); each
    # score keeps the start of its trace (TraceStart, by which a projection orders the scores, so the
    # scores of an hour's tasks are read without the rest); then the activity counts and the sealed states.
    (
        "0022_sealed_hours",
        (
            *ROLLUP_MARKS_STATEMENTS,
            f"ALTER TABLE {SCORES_TABLE} ADD COLUMN IF NOT EXISTS TraceStart DateTime64(6, 'UTC') DEFAULT Time",
            f"ALTER TABLE {SCORES_TABLE} MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild'",
            f"ALTER TABLE {SCORES_TABLE} ADD PROJECTION IF NOT EXISTS by_trace_start (SELECT * ORDER BY TraceStart)",
            f"ALTER TABLE {SCORES_TABLE} MATERIALIZE PROJECTION by_trace_start SETTINGS mutations_sync = 2",
            # The scores stored before: each again with its trace's start (same id and time, so the same score).
            f"INSERT INTO {SCORES_TABLE} ({_SCORE_COLUMNS}, TraceStart) "
            f"SELECT {', '.join('s.' + c for c in _SCORE_COLUMNS.split(', '))}, toDateTime64(l.Start, 6, 'UTC') "
            f"FROM {SCORES_TABLE} AS s INNER JOIN "
            f"(SELECT TraceId, min(Start) AS Start FROM {TRACE_ID_TS_TABLE} GROUP BY TraceId) AS l "
            "ON s.TraceId = l.TraceId",
            f"DROP VIEW IF EXISTS {SCORES_TABLE}_sdk_mv",
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {SCORES_TABLE}_sdk_mv TO {SCORES_TABLE} AS "
            + _sdk_scores_select(trace_start=True),
            *HOURS_STATEMENTS,
        ),
    ),
    # Trace by id (issue 24): the spans are ordered by service, span name and time, so one trace's ~20 spans
    # lie in ~10 granules of 8,192 rows per part of its day, and reading their attribute maps was the cost
    # (~85 ms at 10 M spans). A projection ordered by trace id keeps a second copy of every span in each
    # part, sorted by trace id in granules of 256 rows: the read by id (with the lookup's time bounds, which
    # pick the day's parts) is one granule per part. It holds the raw columns (``*``) and the MATERIALIZED
    # ones the reads by id select (a projection's ``*`` leaves MATERIALIZED columns out, and a query wanting
    # a column the projection lacks reads the table instead). Deleting a trace is a mutation (retention.py),
    # which rewrites the projection with its part. A lightweight DELETE stays refused (ClickHouse's default
    # lightweight_mutation_projection_mode 'throw'): with 'rebuild', chDB 26.9 masked the rows in the part
    # but still returned them through the projection.
    (
        "0023_trace_id_projection",
        (
            f"ALTER TABLE {TRACES_TABLE} ADD PROJECTION IF NOT EXISTS {TRACE_ID_PROJECTION} "
            "(SELECT *, Status, Kind, Model, InputTokens, OutputTokens, CostUsd, IsRoot ORDER BY TraceId) "
            "WITH SETTINGS (index_granularity = 256)",
            f"ALTER TABLE {TRACES_TABLE} MATERIALIZE PROJECTION {TRACE_ID_PROJECTION} SETTINGS mutations_sync = 2",
        ),
    ),
    # What changed lately (collector/store/hours.py): a seal whose hour's activity moved is checked trace by
    # trace, so recent hours are sealed an hour after they end rather than after every span they can receive.
    ("0026_seal_changes", CHANGES_STATEMENTS),
)
