"""Online evaluation: the ``tracereel evaluator`` worker that scores sampled production traces (docs/online.md).

User code (custom scorers, judges) runs here, never in the collector.
"""

from tracereel.evals.online.scoring import ERROR_LABEL, BoundRule, bind_rule, score_trace
from tracereel.evals.online.worker import Evaluator, Progress

__all__ = ["ERROR_LABEL", "BoundRule", "Evaluator", "Progress", "bind_rule", "score_trace"]
