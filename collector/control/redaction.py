"""PII and secret redaction before storage: values become ``<redacted:KIND>``.

Runs on every attribute value of every span, in the parse workers, so each rule has a cheap
trigger (a substring or "has a digit") and its regex only runs when the trigger is there;
most values pay a few ``in`` checks. Rules that would catch ids, timestamps and prices by
shape alone are checked further (Luhn for cards, mod-97 for IBANs, ``ipaddress`` for IPv6,
card number prefixes, separators for phone numbers) so that they keep their false positives low.

JSON values (what the SDK records for arguments and results) are parsed and only their
string leaves are rewritten, then serialised again, so the stored value stays valid JSON.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from tracereel import toml

__all__ = ["KINDS", "REDACTED_PREFIX", "RedactionError", "Redactor", "Rule", "load_redactor"]

REDACTED_PREFIX = "<redacted:"


class RedactionError(ValueError):
    """The redaction setting or its rules file is wrong; the message names the file and the rule."""


def _mark(kind: str) -> str:
    return f"{REDACTED_PREFIX}{kind}>"


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


# Card networks' leading digits (Visa 4, Mastercard 2221-2720 and 51-55, Amex 34/37, Diners
# 30/36/38, JCB 35, Discover and UnionPay 6): 13-digit millisecond and 19-digit nanosecond
# timestamps start with 1 and are left alone even when they happen to pass Luhn.
_CARD_PREFIX = re.compile(r"4|5[1-5]|2[2-7]|3[0-8]|6")


def _card(text: str) -> bool:
    digits = text.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and _CARD_PREFIX.match(digits) is not None and _luhn(digits)


def _iban_ok(compact: str) -> bool:
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _iban(text: str) -> bool:
    return _iban_ok(text.replace(" ", ""))


def _ipv6(text: str) -> bool:
    # "d::", "::ba" (C++ and Rust paths) are valid addresses; real ones have 3+ groups.
    if sum(1 for group in text.split(":") if group) < 3:
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _phone(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    return 8 <= digits <= 15 if text.startswith("+") else 10 <= digits <= 12


@dataclass(frozen=True)
class Rule:
    """One kind: ``pattern`` finds candidates, ``check`` (if any) confirms one.

    ``gate`` is a cheap regex that every finding contains ("@", "eyJ", three digits in a row):
    the pattern only runs on values where it occurs; gates are kept coarse and quick to
    search (a precise gate costs more than it saves). Empty: always run (custom rules).
    """

    kind: str
    pattern: re.Pattern[str]
    gate: str = ""
    check: Callable[[str], bool] | None = None
    keep: str = ""  # a prefix the replacement keeps ("Bearer "), so the value still reads as what it was


# Phone numbers stand alone: not inside a word, an id (A-1001-...), a decimal or an address.
_PHONE_L = r"(?<![\w@.\-])"
_PHONE_R = r"(?![\w\-])"

# Cards and phone numbers share one gate (so that one cannot hide the other in the combined
# scan): a "+" before a digit, 3 digits and a separator, or 8 digits in two groups of 4.
_NUMBER_GATE = r"\+\d|\d{3}[ .\-)/]{1,2}\d|\d{4}[ \-]?\d{4}"

# Order matters: secrets first (a JWT inside "Bearer ..." counts as a JWT), then emails (their
# digits are not phone numbers), then the digit kinds from the most to the least specific.
_BUILTIN: tuple[Rule, ...] = (
    Rule(
        "private_key",
        re.compile(r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END[A-Z0-9 ]*PRIVATE KEY-----|.*)", re.DOTALL),
        r"PRIVATE KEY-----",
    ),
    Rule("jwt", re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"), "eyJ"),
    Rule("anthropic_key", re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{20,}"), "sk-ant-"),
    Rule("openai_key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"), "sk-"),
    Rule("stripe_key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"), r"k_(?:live|test)_"),
    Rule("aws_access_key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "AKIA|ASIA"),
    Rule(
        "github_token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
        r"gh[pousr]_|github_pat_",
    ),
    Rule("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"), "xox"),
    Rule("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}"), "AIza"),
    Rule("bearer", re.compile(r"\b[Bb]earer[ \t]+[A-Za-z0-9\-._~+/]{8,}=*"), "earer", keep="Bearer "),
    Rule("email", re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b"), "@"),
    Rule(
        "iban",
        re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"),
        r"[A-Z]{2}\d\d",
        check=_iban,
    ),
    Rule("card", re.compile(r"(?<![\w.\-])\d(?:[ \-]?\d){12,18}(?![\w.]|-\d)"), _NUMBER_GATE, check=_card),
    Rule(
        "ipv4",
        re.compile(
            r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)"
        ),
        r"\.\d",
    ),
    Rule(
        "ipv6",
        re.compile(r"(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Za-z:])"),
        r"::|:[0-9A-Fa-f]{1,4}:",
        check=_ipv6,
    ),
    Rule(
        "phone",
        re.compile(
            _PHONE_L
            # +44 20 7946 0958, +14155552671
            + r"(?:\+\d{1,3}[ .\-]?(?:\(\d{1,4}\)[ .\-]?)?\d{1,4}(?:[ .\-]?\d{1,4}){1,5}"
            + r"|(?:\(\d{3}\)[ ]?|\d{3}[.\- ])\d{3}[.\- ]\d{4}"  # (415) 555-2671, 415-555-2671
            + r"|\(?0\d{1,4}\)?[ \-/]\d{3,4}[ \-]\d{3,4})"  # 020 7946 0958, 030/1234 5678
            + _PHONE_R
        ),
        _NUMBER_GATE,
        check=_phone,
    ),
)

KINDS: tuple[str, ...] = tuple(rule.kind for rule in _BUILTIN)


_LOWER_HEX = "0123456789abcdef"


class Redactor:
    """Replaces what its rules find with ``<redacted:KIND>``, counting per kind.

    Picklable (compiled patterns pickle as their source), so the collector builds it once and
    hands it to every parse worker.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(rules)
        self.kinds = tuple(rule.kind for rule in self.rules)
        self._custom = [rule for rule in self.rules if not rule.gate]
        self._clean: set[str] = set()
        # Rules sharing a gate share one named group; one scan of a value with the combined
        # gate finds which rules can match at all, and most values match none.
        groups: dict[str, list[int]] = {}
        for index, rule in enumerate(self.rules):
            if rule.gate:
                groups.setdefault(rule.gate, []).append(index)
        self._group_rules = {f"g{n}": indexes for n, indexes in enumerate(groups.values())}
        # The same alternatives without groups for the yes/no search: groups slow every value's scan.
        self._gate = re.compile("|".join(groups)) if groups else None
        self._which = re.compile("|".join(f"(?P<g{n}>{gate})" for n, gate in enumerate(groups))) if groups else None

    def redact(self, value: str, counts: dict[str, int]) -> str:
        """``value`` with every finding replaced (JSON stays JSON); adds to ``counts`` per kind."""
        if len(value) < 6:  # nothing any rule finds is this short: the commonest case, first
            return value
        clean = self._clean
        if value in clean:
            return value
        if not self._custom:
            # Lowercase hex with a letter (hashes, ids) holds none of the built-in kinds; two C calls.
            if not value.strip(_LOWER_HEX) and not value.isdigit():
                return value
            if self._gate is not None and self._gate.search(value) is None:
                # Model, tool and operation names, statuses, common results: most values recur,
                # and a set lookup is a fraction of a gate scan.
                self._remember(value)
                return value
        if value[:1] in ("{", "[", '"') or value.lstrip()[:1] in ("{", "["):
            try:
                parsed = json.loads(value)
            except ValueError:
                pass
            else:
                before = sum(counts.values())
                walked = self._walk(parsed, counts)
                if sum(counts.values()) == before:
                    self._remember(value)
                    return value  # unchanged: keep the original formatting
                return json.dumps(walked, ensure_ascii=False, separators=(",", ":"))
        out = self._text(value, counts)
        if out == value:
            self._remember(value)
        return out

    def _remember(self, value: str) -> None:
        # Values repeat (models, prompts, tool results): a value found clean once is not
        # scanned again. Bounded, and only for values short enough to be worth keeping.
        if len(value) <= 512:
            if len(self._clean) >= 20_000:
                self._clean.clear()
            self._clean.add(value)

    def redact_map(self, attributes: dict[str, str], counts: dict[str, int]) -> dict[str, str]:
        """The same map, or a redacted copy when a value changed."""
        out: dict[str, str] | None = None
        redact = self.redact
        for key, value in attributes.items():
            new = redact(value, counts)
            if new is not value:
                if out is None:
                    out = dict(attributes)
                out[key] = new
        return attributes if out is None else out

    def _walk(self, node: object, counts: dict[str, int]) -> object:
        # ``node`` is json.loads output: an object's keys are strings.
        if isinstance(node, str):
            return self._text(node, counts)
        if isinstance(node, dict):
            return {key: self._walk(item, counts) for key, item in cast("dict[str, object]", node).items()}
        if isinstance(node, list):
            return [self._walk(item, counts) for item in cast("list[object]", node)]
        if isinstance(node, int) and not isinstance(node, bool) and node >= 10**12:
            # A card number sent as a JSON number: the same rule as for text.
            return self._text(str(node), counts) if "card" in self.kinds and _card(str(node)) else node
        return node

    def _text(self, value: str, counts: dict[str, int]) -> str:
        if len(value) < 6:
            return value
        for rule in self._custom:
            value = rule.pattern.sub(_Replacer(rule, counts), value)
        if self._which is None:
            return value
        fired: set[int] = set()
        for match in self._which.finditer(value):
            fired.update(self._group_rules[match.lastgroup or ""])
        # In rule order: a secret inside a bearer header counts as the secret. A replacement
        # adds no gate's text, so the rules found before replacing are all that can match.
        for index in sorted(fired):
            rule = self.rules[index]
            value = rule.pattern.sub(_Replacer(rule, counts), value)
        return value


class _Replacer:
    """``re.sub`` callback for one rule: confirms a candidate, counts it, keeps the rest verbatim."""

    __slots__ = ("counts", "rule")

    def __init__(self, rule: Rule, counts: dict[str, int]) -> None:
        self.rule = rule
        self.counts = counts

    def __call__(self, match: re.Match[str]) -> str:
        text = match.group(0)
        rule = self.rule
        if rule.check is not None and not rule.check(text):
            if rule.kind == "iban":
                return _shorter_iban(text, self.counts)
            return text
        self.counts[rule.kind] = self.counts.get(rule.kind, 0) + 1
        return rule.keep + _mark(rule.kind)


def _shorter_iban(text: str, counts: dict[str, int]) -> str:
    """An IBAN followed by more capitals and digits ("DE89 3704 0044 0532 0130 00 A1B2"): try shorter ends."""
    cut = text.rfind(" ")
    while cut > 4:
        if _iban_ok(text[:cut].replace(" ", "")):
            counts["iban"] = counts.get("iban", 0) + 1
            return _mark("iban") + text[cut:]
        cut = text.rfind(" ", 0, cut)
    return text


def _toml_list(value: object) -> list[object] | None:
    return cast("list[object]", value) if isinstance(value, list) else None


def _custom_rules(path: Path) -> tuple[list[Rule], set[str]]:
    try:
        data = toml.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RedactionError(f"redaction rules {path}: cannot read ({exc.strerror or exc})") from None
    except (toml.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RedactionError(f"redaction rules {path}: not valid TOML ({exc})") from None
    unknown = set(data) - {"rules", "disable"}
    if unknown:
        raise RedactionError(
            f"redaction rules {path}: unknown key(s) {sorted(unknown)}; expected 'rules' and 'disable'"
        )
    disable = _toml_list(data.get("disable", []))
    if disable is None or not all(isinstance(k, str) for k in disable):
        raise RedactionError(f"redaction rules {path}: 'disable' must be a list of kinds, e.g. ['phone', 'ipv4']")
    disabled = {k for k in disable if isinstance(k, str)}
    bad = sorted(disabled - set(KINDS))
    if bad:
        raise RedactionError(
            f"redaction rules {path}: cannot disable unknown kind(s) {bad}; built-in kinds: {', '.join(KINDS)}"
        )
    entries = _toml_list(data.get("rules", []))
    if entries is None:
        raise RedactionError(f"redaction rules {path}: 'rules' must be an array of tables ([[rules]])")
    rules: list[Rule] = []
    for i, item in enumerate(entries):
        where = f"redaction rules {path}: rule {i + 1}"
        if not isinstance(item, dict):
            raise RedactionError(f"{where}: must be a table with name and pattern")
        # A TOML table's keys are strings.
        entry = cast("dict[str, object]", item)
        name, pattern = entry.get("name"), entry.get("pattern")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
            raise RedactionError(f"{where}: 'name' must be a word (letters, digits, _ . -), got {name!r}")
        where = f"redaction rules {path}: rule {name!r}"
        if name in KINDS or any(r.kind == name for r in rules):
            raise RedactionError(f"{where}: the name is already taken")
        if not isinstance(pattern, str) or not pattern:
            raise RedactionError(f"{where}: 'pattern' must be a non-empty regular expression string")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise RedactionError(f"{where}: bad pattern {pattern!r}: {exc}") from None
        if compiled.match(""):
            raise RedactionError(f"{where}: pattern {pattern!r} matches the empty string")
        # No gate is known for a custom pattern: it runs on every value.
        rules.append(Rule(name, compiled))
    return rules, disabled


def load_redactor(setting: str | None) -> Redactor | None:
    """The redactor for ``--redact``: ``default``, ``off`` (None) or a TOML rules file.

    The file adds ``[[rules]]`` (``name``, ``pattern``) to the built-in kinds and may turn
    built-in kinds off with ``disable = ["phone", ...]``. Raises ``RedactionError`` naming
    the file and the rule when it is wrong.
    """
    if setting is None or setting == "default":
        return Redactor(_BUILTIN)
    if setting == "off":
        return None
    path = Path(setting)
    if not path.is_file():
        raise RedactionError(f"--redact {setting!r}: expected 'default', 'off' or a TOML rules file that exists")
    custom, disabled = _custom_rules(path)
    # Custom rules run first: they are the operator's own, more specific than the defaults.
    return Redactor([*custom, *(rule for rule in _BUILTIN if rule.kind not in disabled)])
