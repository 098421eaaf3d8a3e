"""Queries: trace reads, the agent metrics in SQL, eval run history, the price table, query parameters.

Imports the store only.
"""

from tracereel.collector.query.evals import (
    RUN_ID_PATTERN,
    EvalReportError,
    EvalRunConflict,
    StoredEvalRun,
    get_eval_run,
    list_eval_runs,
    parse_eval_report,
    store_eval_run,
)
from tracereel.collector.query.metrics import (
    BREAKDOWNS,
    METRIC_KEYS,
    SPAN_COST_SQL,
    SPAN_PRICED_SQL,
    TaskFilter,
    breakdown,
    price_params,
    summary,
    task_filter_sql,
    timeseries,
)
from tracereel.collector.query.params import (
    ParamError,
    parse_bucket,
    parse_metrics_window,
    parse_time,
    parse_trace_id,
    parse_trace_list_window,
)
from tracereel.collector.query.prices import DEFAULT_PRICES, ENV_VAR, Price, PriceError, PriceTable, load_prices
from tracereel.collector.query.scope import EVERYTHING, Scope, glob_to_like, scope_sql
from tracereel.collector.query.switches import (
    SwitchKey,
    current_switches,
    flip_count,
    flip_switch,
    switch_state,
    switches_version,
)
from tracereel.collector.query.traces import get_trace, list_traces

__all__ = [
    "BREAKDOWNS",
    "DEFAULT_PRICES",
    "ENV_VAR",
    "EVERYTHING",
    "METRIC_KEYS",
    "RUN_ID_PATTERN",
    "SPAN_COST_SQL",
    "SPAN_PRICED_SQL",
    "EvalReportError",
    "EvalRunConflict",
    "ParamError",
    "Price",
    "PriceError",
    "PriceTable",
    "Scope",
    "StoredEvalRun",
    "SwitchKey",
    "TaskFilter",
    "breakdown",
    "current_switches",
    "flip_count",
    "flip_switch",
    "get_eval_run",
    "get_trace",
    "glob_to_like",
    "list_eval_runs",
    "list_traces",
    "load_prices",
    "parse_bucket",
    "parse_eval_report",
    "parse_metrics_window",
    "parse_time",
    "parse_trace_id",
    "parse_trace_list_window",
    "price_params",
    "scope_sql",
    "store_eval_run",
    "summary",
    "switch_state",
    "switches_version",
    "task_filter_sql",
    "timeseries",
]
