"""Deterministic stand-ins for the judge, used when none is configured; each has a name.

They are word counting, not understanding, and say so: the score's method is
``fallback:token-overlap`` or ``fallback:support-overlap``, so a report shows that no judge
scored. Both compare *content tokens*: words and numbers, lowercased, with English stop words
dropped and a light suffix stemming (``refunded`` and ``refunds`` are both ``refund``); numbers
are compared by value (``40.00`` is ``40``, ``1,000`` is ``1000``).

- **token-overlap** (``llm_judge``): the share of the expected answer's content tokens that the
  output contains. A number of the expected answer missing from the output scores 0 (a wrong
  amount is a wrong answer), and so does a negation (``not``, ``never``, ...) in only one of
  the two (``refund approved`` against ``refund not approved``). Limits: paraphrases and
  synonyms score low; extra wrong claims in a verbose output are not seen; only English stop
  words and negations are known.
- **support-overlap** (``groundedness``): the share of the output's content tokens found in what
  the tools returned or in the case's input. A number found in neither scores 0 (an invented
  amount, date or id is the typical hallucination). Common answer phrasing (``sorry``,
  ``could not find``, ``please``) is ignored, so "I could not find that order" is grounded.
  Limits: a claim made of supported words can still be false ("refund approved" when the tool
  said "refund not approved"); a correct inference from the results (a sum, a date computed
  from a delay) scores as unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["SUPPORT_OVERLAP", "TOKEN_OVERLAP", "content_tokens", "support_overlap", "token_overlap"]

TOKEN_OVERLAP = "fallback:token-overlap"
SUPPORT_OVERLAP = "fallback:support-overlap"

_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|\w+", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")

_STOP = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me
    more most my myself nor of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will
    with would you your yours yourself yourselves s t d ll m re ve aren couldn didn doesn don hadn
    hasn haven isn mustn shouldn wasn weren won wouldn""".split()
)
_NEGATIONS = frozenset({"not", "no", "never", "none", "nothing", "nobody", "neither", "cannot", "without", "t"})
# Words an answer uses to frame itself, not claims about the world: ignored by support-overlap
# so that "Sorry, I could not find that order" is not scored as invented.
_FRAMING = frozenset(
    """sorry unfortunately unable could couldn find found help please let know check information
    details anything else happy assist thanks thank hello hi dear regards hope ok okay sure yes
    unknown available see look looked able""".split()
)


def _stem(word: str) -> str:
    # Light and symmetric (both sides get the same cut): enough to match refund/refunds/refunded.
    if len(word) > 4:
        for suffix in ("ing", "ed", "es", "s", "e"):
            if word.endswith(suffix):
                return word[: -len(suffix)]
    return word


def _number(token: str) -> str:
    text = token.replace(",", "") if _THOUSANDS.fullmatch(token) else token.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return token
    return f"{value:.10f}".rstrip("0").rstrip(".")


def content_tokens(text: str, *, keep_negations: bool = False) -> list[str]:
    """The content tokens of ``text``: numbers as ``#value``, words lowercased and stemmed."""
    out: list[str] = []
    for raw in _TOKEN.findall(text.lower()):
        if _NUMBER.fullmatch(raw):
            out.append("#" + _number(raw))
        elif raw in _STOP and not (keep_negations and raw in _NEGATIONS):
            continue
        elif raw in _NEGATIONS:
            out.append(raw)
        else:
            out.append(_stem(raw))
    return out


def _show(tokens: Iterable[str], limit: int = 8) -> str:
    items = sorted(t.lstrip("#") for t in tokens)
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def token_overlap(output: str, expected: str) -> tuple[float, str]:
    """Score how much of ``expected`` the ``output`` says (see the module docstring); (score, reason)."""
    want = set(content_tokens(expected)) - _NEGATIONS
    have = set(content_tokens(output))
    if not want:
        # Nothing but stop words to compare ("yes", "ok", ""): the whole text must match.
        same = " ".join(output.lower().split()) == " ".join(expected.lower().split())
        return (
            (1.0, "the output equals the expected text")
            if same
            else (0.0, "the output differs from the expected text, which has no content words to compare")
        )
    missing_numbers = {t for t in want if t.startswith("#")} - have
    if missing_numbers:
        return 0.0, f"numbers of the expected answer missing from the output: {_show(missing_numbers)}"
    negated_out = bool(set(content_tokens(output, keep_negations=True)) & _NEGATIONS)
    negated_exp = bool(set(content_tokens(expected, keep_negations=True)) & _NEGATIONS)
    if negated_out != negated_exp:
        # "refund approved" and "refund not approved" share every word and mean the opposite.
        return 0.0, f"a negation appears only in the {'output' if negated_out else 'expected answer'}"
    found = want & have
    score = len(found) / len(want)
    reason = f"{len(found)} of {len(want)} content words of the expected answer are in the output"
    if want - have:
        reason += f"; missing: {_show(want - have)}"
    return score, reason


def support_overlap(output: str, sources: Iterable[str]) -> tuple[float, str]:
    """Score how much of ``output`` appears in ``sources`` (tool results, the input); (score, reason)."""
    # Negations are how a claim is phrased, not what it is about; their limit is documented above.
    claims = set(content_tokens(output)) - _FRAMING - _NEGATIONS
    if not claims:
        return 1.0, "the output makes no claim to check (only stop words and answer phrasing)"
    known: set[str] = set()
    for source in sources:
        known.update(content_tokens(source))
    unsupported = claims - known
    invented_numbers = {t for t in unsupported if t.startswith("#")}
    if invented_numbers:
        return (
            0.0,
            f"numbers in the output that no tool returned and the input does not contain: {_show(invented_numbers)}",
        )
    supported = len(claims) - len(unsupported)
    score = supported / len(claims)
    reason = f"{supported} of {len(claims)} content words of the output appear in the tool results or the input"
    if unsupported:
        reason += f"; not found: {_show(unsupported)}"
    return score, reason
