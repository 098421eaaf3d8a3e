"""The demo's online rule: groundedness on the demo's traffic, scored by ``tracereel evaluator``.

No model is needed: without ``TRACEREEL_JUDGE_MODEL`` the groundedness scorer uses its
deterministic fallback (how much of the answer the tools' results support). ``tracereel up
--demo`` runs an evaluator beside the collector, so the scores appear within seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from tracereel.client import CollectorClient, CollectorError

__all__ = ["DEMO_RULE", "add_online_rule"]

DEMO_RULE: Final = "demo-groundedness"


def add_online_rule(endpoint: str, *, api_key: str | None = None, progress: Callable[[str], None] = print) -> None:
    """Add the demo's groundedness rule (every demo trace of the last two days); a failure is one warning line."""
    client = CollectorClient(endpoint, api_key=api_key)
    try:
        client.add_online_rule({"name": DEMO_RULE, "scorers": ["groundedness"], "sample": 1.0, "backfill": "2d"})
    except CollectorError as exc:
        if exc.status != 409:  # already added by an earlier demo run: nothing to do
            progress(f"warning: the demo's online rule was not added: {exc}")
            return
    progress(f"tracereel demo: online rule {DEMO_RULE} scores groundedness (tracereel online list)")
