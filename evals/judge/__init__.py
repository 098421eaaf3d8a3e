"""LLM judges for evaluation, and the ``llm_judge`` and ``groundedness`` scorers (docs/judge.md).

``tracereel.evals.judge:llm_judge`` and ``tracereel.evals.judge:groundedness`` are what the
scorer registry imports. A judge is any :class:`Judge`: :class:`OpenAIJudge` for an
OpenAI-compatible endpoint, :class:`CallableJudge` for a Python callable, or the one
:func:`judge_from_settings` builds from ``TRACEREEL_JUDGE_*``. Without one, the scorers use a
named deterministic method (:mod:`tracereel.evals.judge.fallback`) and say so in ``Score.method``.
"""

from tracereel.evals.judge.cache import JudgeCache, cache_key, default_cache_dir
from tracereel.evals.judge.fallback import SUPPORT_OVERLAP, TOKEN_OVERLAP, support_overlap, token_overlap
from tracereel.evals.judge.judges import (
    CallableJudge,
    Judge,
    JudgeError,
    OpenAIJudge,
    judge_from_settings,
    parse_verdict,
)
from tracereel.evals.judge.prompt import (
    DEFAULT_GROUNDEDNESS_RUBRIC,
    DEFAULT_LLM_JUDGE_RUBRIC,
    SYSTEM_PROMPT,
    Evidence,
    JudgePrompt,
    Verdict,
)
from tracereel.evals.judge.scorers import groundedness, llm_judge, tool_evidence

__all__ = [
    "DEFAULT_GROUNDEDNESS_RUBRIC",
    "DEFAULT_LLM_JUDGE_RUBRIC",
    "SUPPORT_OVERLAP",
    "SYSTEM_PROMPT",
    "TOKEN_OVERLAP",
    "CallableJudge",
    "Evidence",
    "Judge",
    "JudgeCache",
    "JudgeError",
    "JudgePrompt",
    "OpenAIJudge",
    "Verdict",
    "cache_key",
    "default_cache_dir",
    "groundedness",
    "judge_from_settings",
    "llm_judge",
    "parse_verdict",
    "support_overlap",
    "token_overlap",
    "tool_evidence",
]
