"""``tracereel evaluator``: the worker that scores finished production traces for every online rule.

Each pass asks the collector, for each rule the key can see, for the finished traces in the
rule's sample that have no score of the rule yet (``GET /api/v1/online/rules/{name}/pending``),
scores them and posts the scores in batches (``POST /api/v1/scores/batch``, source
``online:RULE``). What is scored is read back from the store, so a restarted worker picks up
where the last one stopped, and a score's id is derived from (rule, trace, name), so a trace
scored twice (a crash between post and answer) replaces its scores rather than adding to them.
``shard=(K, N)`` takes only the traces hashing to K of N: N workers split the work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final

from tracereel.client import CollectorClient, CollectorError, NotFound
from tracereel.contracts.online import PendingTrace, PendingTraces
from tracereel.contracts.scores import MAX_BATCH, ScoreIn
from tracereel.evals.online.scoring import ERROR_LABEL, BoundRule, bind_rule, score_trace

__all__ = ["Evaluator", "Progress"]

logger = logging.getLogger("tracereel.evaluator")

_FETCH: Final = 200  # traces per pending request: one query, one batch post of their scores


@dataclass
class Progress:
    """What the worker has done since it started, and how far behind it is."""

    rules: int = 0
    scored: int = 0  # traces
    errors: int = 0  # error scores
    lag_seconds: float | None = None  # now minus the end of the oldest trace of the last batch posted
    lags: list[float] = field(default_factory=list[float])  # every scored trace's end-to-posted seconds

    def line(self) -> str:
        """The status line: rules, traces scored, error scores, lag."""
        lag = "-" if self.lag_seconds is None else f"{self.lag_seconds:.1f}s"
        return f"evaluator: {self.rules} rules, scored {self.scored} traces, {self.errors} errors, lag {lag}"


class Evaluator:
    """Scores pending traces for each rule through ``client``; :meth:`run_once` or :meth:`run` until stopped."""

    def __init__(
        self,
        client: CollectorClient,
        *,
        shard: tuple[int, int] = (0, 1),
        settle: float = 1.0,
        fetch: int = _FETCH,
        status: Callable[[str], None] | None = None,
        keep_lags: bool = False,
    ) -> None:
        self.client = client
        self.shard = shard
        self.settle = settle
        self.fetch = fetch
        self.progress = Progress()
        self._status = status
        self._keep_lags = keep_lags
        self._bound: dict[str, BoundRule] = {}

    def _post(self, scores: list[ScoreIn]) -> None:
        for start in range(0, len(scores), MAX_BATCH):
            chunk = scores[start : start + MAX_BATCH]
            try:
                self.client.post_scores(chunk)
            except NotFound:
                # A trace deleted since it was read refuses the whole batch: post trace by trace.
                for trace_id in dict.fromkeys(s.trace_id for s in chunk):
                    try:
                        self.client.post_scores([s for s in chunk if s.trace_id == trace_id])
                    except NotFound:
                        logger.info("trace %s is gone; not scored", trace_id)

    def _posted(self, traces: list[PendingTrace], scores: list[ScoreIn]) -> None:
        """Post one page's scores and count them (on the posting thread)."""
        self._post(scores)
        now = time.time_ns()
        lags = [(now - t.end_unix_nano) / 1e9 for t in traces]
        self.progress.scored += len(traces)
        self.progress.errors += sum(1 for s in scores if s.label == ERROR_LABEL)
        self.progress.lag_seconds = max(lags)
        if self._keep_lags:
            self.progress.lags.extend(lags)

    def _rule(self, pending: PendingTraces) -> BoundRule:
        """The bound rule of ``pending``, bound again only when the rule changed (re-added, other scorers)."""
        rule = pending.rule
        cached = self._bound.get(rule.name)
        if cached is None or cached.key != (rule.name, rule.created_at, tuple(rule.scorers), rule.rubric):
            cached = self._bound[rule.name] = bind_rule(rule)
        return cached

    def _drain(self, name: str, stop: threading.Event | None) -> int:
        """Score ``name``'s pending traces until none is left (or ``stop``); how many were scored.

        A page's scores are posted on a thread of their own while the next page is read and scored:
        the next page starts after the last trace of this one, since its scores may not be stored yet.
        At most one post is in flight, and the last is waited for before returning.
        """
        done, after = 0, None
        shard, shards = self.shard
        posting: Future[None] | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tracereel-evaluator-post") as poster:
            while stop is None or not stop.is_set():
                pending = self.client.online_pending(
                    name, limit=self.fetch, shard=shard, shards=shards, settle=self.settle, after=after
                )
                if not pending.traces:
                    break
                bound = self._rule(pending)
                scores = [score for trace in pending.traces for score in score_trace(bound, trace)]
                if posting is not None:
                    posting.result()  # its errors surface here
                    self._report()
                posting = poster.submit(self._posted, pending.traces, scores)
                last = pending.traces[-1]
                after = f"{last.end_unix_nano}:{last.trace_id}"
                done += len(pending.traces)
            if posting is not None:
                posting.result()
                self._report()
        return done

    def _report(self) -> None:
        if self._status is not None:
            self._status(self.progress.line())

    def run_once(self, stop: threading.Event | None = None) -> Progress:
        """One pass: every pending trace of every rule scored. Collector errors propagate (CollectorError)."""
        rules = self.client.online_rules(progress=False)
        self.progress.rules = len(rules)
        for rule in rules:
            try:
                self._drain(rule.name, stop)
            except NotFound:
                continue  # removed since listed
        return self.progress

    def run(self, stop: threading.Event, *, poll: float = 0.5) -> Progress:
        """Pass after pass until ``stop`` is set; a collector that fails is retried after ``poll`` seconds."""
        last = ""
        while not stop.is_set():
            try:
                self.run_once(stop)
            except CollectorError as exc:
                logger.warning("evaluator: %s; retrying", exc)
            line = self.progress.line()
            if line != last:
                self._report()
                last = line
            stop.wait(poll)
        return self.progress
