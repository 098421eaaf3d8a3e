"""Judges: anything that turns a :class:`JudgePrompt` into a :class:`Verdict`.

- :class:`OpenAIJudge` asks any OpenAI-compatible ``/chat/completions`` endpoint (OpenAI, Azure
  OpenAI behind a compatible proxy, vLLM, Ollama, LiteLLM, ...) over ``requests``
  (:mod:`tracereel.transport`): no provider package is needed.
- :class:`CallableJudge` wraps a Python callable (another provider's client, a local model, a
  heuristic).
- :func:`judge_from_settings` builds the judge the settings describe, or None when none is.

Every judge call is traced as an ``@llm`` boundary (a ``chat {model}`` span of its own trace)
and never intercepted by a replay, and verdicts are cached by what was asked
(:mod:`tracereel.evals.judge.cache`). A judge raises :class:`JudgeError` with a message that
names the problem; the scorers turn it into a failed score, never a crash.
"""

from __future__ import annotations

import contextvars
import json
import math
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, cast

import requests

from tracereel.evals.judge.cache import JudgeCache, cache_key
from tracereel.evals.judge.prompt import JudgePrompt, Verdict
from tracereel.sdk import hooks
from tracereel.sdk.settings import resolve, resolve_with_source
from tracereel.transport import network_reason, session

__all__ = ["CallableJudge", "Judge", "JudgeError", "OpenAIJudge", "judge_from_settings", "parse_verdict"]


class JudgeError(Exception):
    """The judge gave no usable verdict; the message says why (HTTP status, timeout, bad answer)."""


class Judge(Protocol):
    """Turns a prompt into a verdict. ``name`` says who judged (the model) in ``Score.method``."""

    name: str

    def __call__(self, prompt: JudgePrompt) -> Verdict: ...


class _Live:
    """An interceptor that always runs the real call.

    Installed for the judge's own context, so that a judge called while a replay intercepts
    the process still asks the real endpoint instead of being served (or failing) from a tape.
    """

    def intercept(self, call: hooks.BoundaryCall, proceed: Callable[[], Any]) -> Any:
        return proceed()

    async def intercept_async(self, call: hooks.BoundaryCall, proceed: Callable[[], Awaitable[Any]]) -> Any:
        return await proceed()


_LIVE = _Live()


def _run_apart(func: Callable[[], Any]) -> Any:
    """Run ``func`` in an empty context: its span starts a trace of its own (it is not a call the
    agent made, so it must not land in a case's trace) and no replay intercepts it."""

    def run() -> Any:
        with hooks.intercepting(_LIVE, context_only=True):
            return func()

    return contextvars.Context().run(run)


def _cached(judge: str, cache: JudgeCache | None, prompt: JudgePrompt, ask: Callable[[], Verdict]) -> Verdict:
    if cache is None:
        return ask()
    key = cache_key(judge, prompt.messages())
    hit = cache.get(key)
    if hit is not None:
        return hit
    verdict = ask()
    cache.put(key, judge, verdict)
    return verdict


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


def _score(value: object) -> float:
    if isinstance(value, bool):  # JSON true/false is not a score; bool is an int in Python
        raise JudgeError(f"the judge's score is {json.dumps(value)}, not a number from 0 to 1")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise JudgeError(f"the judge's score {value!r} is not a number from 0 to 1") from None
    if not isinstance(value, int | float) or math.isnan(value):
        raise JudgeError(f"the judge's score {value!r} is not a number from 0 to 1")
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise JudgeError(f"the judge's score {number:g} is outside [0, 1]")
    return number


def _verdict_from_mapping(data: Mapping[str, Any]) -> Verdict:
    if "score" not in data:
        raise JudgeError(f'the judge\'s answer has no "score": {_clip(json.dumps(data, default=str))}')
    reason = data.get("reason")
    return Verdict(_score(data["score"]), "" if reason is None else str(reason))


def parse_verdict(content: str) -> Verdict:
    """Parse a judge's text answer ``{"score": x, "reason": "..."}``.

    Tolerates what models do around JSON: a fenced ``json`` block, prose before or after the
    object, a score given as a numeric string. Refuses what cannot be read without guessing
    (no object, no score, a score outside [0, 1]) with a :class:`JudgeError` quoting the answer.
    """
    text = content.strip()
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        # The first '{' that starts a whole JSON object: the answer, whatever surrounds it.
        for start in (i for i, ch in enumerate(candidate) if ch == "{"):
            try:
                data, _ = decoder.raw_decode(candidate, start)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict):
                return _verdict_from_mapping(cast(dict[str, Any], data))
    raise JudgeError(f'the judge\'s answer is not a JSON object {{"score": ..., "reason": ...}}: {_clip(text)!r}')


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


class OpenAIJudge:
    """A judge served by an OpenAI-compatible chat completions API.

    ``base_url`` is what an OpenAI client takes (``https://api.openai.com/v1``,
    ``http://localhost:11434/v1``); the request goes to ``{base_url}/chat/completions`` with
    temperature 0. ``cache`` None asks every time.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: float = 60.0,
        cache: JudgeCache | None = None,
    ) -> None:
        self.name = model
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.timeout = timeout
        self.cache = cache
        self._api_key = api_key  # kept out of repr and spans: the traced call never takes it as an argument
        self._http = session()
        host = urllib.parse.urlsplit(self.base_url).hostname or ""
        self._chat = hooks.boundary(
            "llm", self._post, model=model, provider="openai" if host.endswith("openai.com") else None
        )

    def __repr__(self) -> str:
        return f"OpenAIJudge(model={self.model!r}, base_url={self.base_url!r})"

    def __call__(self, prompt: JudgePrompt) -> Verdict:
        """Ask the endpoint (or the cache); raises :class:`JudgeError` on any failure."""
        return _cached(self.name, self.cache, prompt, lambda: self._ask(prompt))

    def _ask(self, prompt: JudgePrompt) -> Verdict:
        body = _run_apart(lambda: self._chat(messages=prompt.messages(), model=self.model, temperature=0))
        return parse_verdict(_content(body))

    def _post(self, messages: list[dict[str, str]], model: str, temperature: float) -> dict[str, Any]:
        """POST one chat completion; the traced boundary (its arguments become the span's input)."""
        data = json.dumps({"model": model, "messages": messages, "temperature": temperature}).encode()
        headers = {"content-type": "application/json", "accept": "application/json"}
        if self._api_key:
            headers["authorization"] = f"Bearer {self._api_key}"
        try:
            response = self._http.post(self.url, data=data, headers=headers, timeout=self.timeout)
        except requests.Timeout:
            raise self._timed_out() from None
        except requests.RequestException as exc:
            raise JudgeError(f"cannot reach {self.url}: {network_reason(exc)}") from None
        if response.status_code >= 400:
            raise JudgeError(f"HTTP {response.status_code} from {self.url}: {_error_message(response)}")
        raw = response.content
        try:
            answer = json.loads(raw)
        except ValueError:
            raise JudgeError(
                f"{self.url} answered with a body that is not JSON: {_clip(raw.decode(errors='replace'))!r}"
            ) from None
        if not isinstance(answer, dict):
            raise JudgeError(
                f"{self.url} answered with JSON that is not an object: {_clip(raw.decode(errors='replace'))!r}"
            )
        return cast(dict[str, Any], answer)

    def _timed_out(self) -> JudgeError:
        return JudgeError(f"no answer from {self.url} within {self.timeout:g} s (TRACEREEL_JUDGE_TIMEOUT)")


def _error_message(response: requests.Response) -> str:
    """The provider's own message (OpenAI: ``{"error": {"message": ...}}``), else the body, else the reason."""
    raw = response.content.decode(errors="replace")
    try:
        data: object = json.loads(raw)
    except ValueError:
        return _clip(raw.strip()) or str(response.reason)
    if isinstance(data, dict):
        error = cast(dict[str, Any], data).get("error")
        if isinstance(error, dict) and "message" in error:
            return _clip(str(cast(dict[str, Any], error)["message"]))
        if isinstance(error, str):
            return _clip(error)
    return _clip(raw.strip()) or str(response.reason)


def _content(body: Mapping[str, Any]) -> str:
    """The assistant message's text in a chat completion."""
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise JudgeError(
            f"the judge's response has no choices[0].message.content: {_clip(json.dumps(body, default=str))}"
        ) from None
    if not isinstance(content, str):
        raise JudgeError(f"the judge's message content is {type(content).__name__}, not text")
    return content


def _coerce(result: object) -> Verdict:
    """What a judge callable may return: a Verdict, a (score, reason) pair, a score, a mapping or JSON text."""
    if isinstance(result, tuple):
        pair = cast(tuple[object, ...], result)
        if len(pair) != 2:
            raise JudgeError(f"the judge returned a tuple of {len(pair)} items, not (score, reason)")
        return Verdict(_score(pair[0]), str(pair[1]))
    if isinstance(result, Mapping):
        return _verdict_from_mapping(cast(Mapping[str, Any], result))
    if isinstance(result, str):
        return parse_verdict(result)
    return Verdict(_score(result), "")


class CallableJudge:
    """A judge that is a Python callable taking the :class:`JudgePrompt`.

    It may return a :class:`Verdict`, a ``(score, reason)`` pair, a bare score, a mapping with
    ``score`` and ``reason``, or the JSON text an LLM would answer. Its calls are traced as
    ``chat {name}`` spans like an endpoint's; ``cache`` (off by default: a local callable is
    usually cheap) caches them by ``name`` and prompt.
    """

    def __init__(
        self, func: Callable[[JudgePrompt], object], *, name: str | None = None, cache: JudgeCache | None = None
    ) -> None:
        self.func = func
        self.name = name or getattr(func, "__qualname__", None) or type(func).__name__
        self.cache = cache
        self._call = hooks.boundary("llm", self._invoke, model=self.name)

    def __repr__(self) -> str:
        return f"CallableJudge(name={self.name!r})"

    def _invoke(self, messages: list[dict[str, str]], prompt: JudgePrompt) -> object:
        # ``messages`` is here so the span records what was asked, like an endpoint judge's span.
        return self.func(prompt)

    def __call__(self, prompt: JudgePrompt) -> Verdict:
        """Call the function (or the cache); anything it raises becomes a :class:`JudgeError`."""

        def ask() -> Verdict:
            try:
                result = _run_apart(lambda: self._call(messages=prompt.messages(), prompt=prompt))
            except JudgeError:
                raise
            except Exception as exc:
                raise JudgeError(f"the judge {self.name} raised {type(exc).__name__}: {exc}") from exc
            return _coerce(result)

        return _cached(self.name, self.cache, prompt, ask)


def judge_from_settings(
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout: float | None = None,
    cache: str | bool | None = None,
) -> OpenAIJudge | None:
    """The judge the settings configure (arguments win over ``TRACEREEL_JUDGE_*``), or None.

    A judge is configured when a model is named (``TRACEREEL_JUDGE_MODEL``): no default model is
    right for every endpoint, and a silent default would spend money nobody asked to spend. The
    URL falls back to ``OPENAI_BASE_URL``, then OpenAI's; the key to ``OPENAI_API_KEY``, but that
    key is sent only where the OpenAI client would send it: not to a URL set by
    ``TRACEREEL_JUDGE_URL`` (or ``base_url``), which gets ``TRACEREEL_JUDGE_API_KEY`` or nothing.
    Raises :class:`~tracereel.sdk.settings.ConfigError` naming a variable with a bad value.
    """
    chosen = resolve("judge_model", model)
    if not chosen:
        # Nothing else is read: a stray OPENAI_BASE_URL must not break an eval that uses no judge.
        return None
    url, url_source = resolve_with_source("judge_url", base_url)
    key, key_source = resolve_with_source("judge_api_key", api_key)
    seconds = resolve("judge_timeout_seconds", timeout)
    verdicts = JudgeCache.from_settings(cache)
    own_url = base_url is not None or url_source == "TRACEREEL_JUDGE_URL"
    if key_source == "OPENAI_API_KEY" and own_url:
        key = None
    return OpenAIJudge(str(chosen), base_url=str(url), api_key=key, timeout=float(seconds), cache=verdicts)
