"""Review queues (DESIGN.md "Production loop"): traces picked by an expression, for a person to judge.

The expression language, parsed and compiled to SQL once (``expr``), and the queues, their items
and verdicts in the store (``queues``). Imports query and store; the API imports it.
"""

from tracereel.collector.review.expr import BadExpression, compile_expr, parse_expr
from tracereel.collector.review.queues import (
    LOOKBACK,
    NotInQueue,
    QueueDef,
    QueueExists,
    add_queue,
    find_queue,
    give_verdict,
    list_queues,
    queue_items,
    remove_queue,
)

__all__ = [
    "LOOKBACK",
    "BadExpression",
    "NotInQueue",
    "QueueDef",
    "QueueExists",
    "add_queue",
    "compile_expr",
    "find_queue",
    "give_verdict",
    "list_queues",
    "parse_expr",
    "queue_items",
    "remove_queue",
]
