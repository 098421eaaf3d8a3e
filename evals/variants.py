"""Scenario and adversarial layers: variant cases made from each golden case.

- ``--fault 'tool:NAME=timeout|error'``: the tool raises instead of returning (replay faults).
- ``--perturb NAME``: seeded, reproducible noise on the case's string inputs.
- ``--attack prompt-injection``: instructions carrying a unique canary token planted in the tool
  results, from a multilingual corpus (``data/injections.json``, extendable from a file).
- hallucination traps (a case's ``trap: true``): every tool returns an empty value of its type.

Each variant is a :class:`~tracereel.evals.model.Case` whose ``variant`` names it in the report.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any, cast

from tracereel.evals.model import Case

__all__ = [
    "ATTACKS",
    "INJECTION_TARGET",
    "PERTURBATIONS",
    "Injection",
    "VariantError",
    "canary_token",
    "empty_like",
    "expand",
    "fault_variant",
    "load_corpus",
    "parse_fault",
    "perturb",
    "plant",
]

ATTACKS = ("prompt-injection",)
INJECTION_TARGET = "tool:*"  # a variant's overrides key: plant into the first tool result with text


class VariantError(ValueError):
    """A variant option that cannot run (unknown perturbation, bad fault, unreadable corpus)."""


Injection = dict[str, str]  # {"lang": "sw", "text": "... {canary} ..."}


# --- faults ---------------------------------------------------------------------------------------


def parse_fault(text: str) -> tuple[str, str]:
    """``tool:NAME=timeout|error`` as (target, fault)."""
    from tracereel.replay import CannotReplay, parse_faults

    target, sep, fault = text.partition("=")
    if not sep:
        raise VariantError(f"--fault {text!r}: expected tool:NAME=timeout or tool:NAME=error")
    try:
        parse_faults({target: fault})
    except CannotReplay as exc:
        raise VariantError(str(exc)) from None
    return target, fault


def fault_variant(case: Case, target: str, fault: str) -> Case:
    """``case`` with ``target`` failing (on top of the case's own faults)."""
    return replace(case, faults={**case.faults, target: fault}, variant=f"fault:{target}={fault}")


# --- perturbations --------------------------------------------------------------------------------


def _typos(text: str, rng: random.Random) -> str:
    chars = list(text)
    letters = [i for i, c in enumerate(chars) if c.isalpha()]
    if not letters:
        return text
    for _ in range(max(1, len(letters) // 12)):
        i = rng.choice(letters)
        if i >= len(chars):
            continue
        action = rng.choice(("swap", "drop", "double", "neighbour"))
        if action == "swap" and i + 1 < len(chars) and chars[i + 1].isalpha():
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif action == "drop" and len(chars) > 1:
            del chars[i]
            letters = [j for j, c in enumerate(chars) if c.isalpha()] or [0]
        elif action == "double":
            chars.insert(i, chars[i])
            letters = [j for j, c in enumerate(chars) if c.isalpha()]
        else:
            chars[i] = _neighbour(chars[i], rng)
    return "".join(chars)


_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbour(char: str, rng: random.Random) -> str:
    lower = char.lower()
    for row in _ROWS:
        at = row.find(lower)
        if at >= 0:
            options = [row[j] for j in (at - 1, at + 1) if 0 <= j < len(row)]
            picked = rng.choice(options)
            return picked.upper() if char.isupper() else picked
    return char


def _casing(text: str, rng: random.Random) -> str:
    style = rng.choice(("lower", "upper", "random"))
    if style == "lower":
        return text.lower()
    if style == "upper":
        return text.upper()
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


def _whitespace(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    gaps = [rng.choice((" ", "  ", "\t", " \n ", "   ")) for _ in words[1:]]
    out = words[0] + "".join(g + w for g, w in zip(gaps, words[1:], strict=True))
    return rng.choice(("", " ", "\n")) + out + rng.choice(("", "  ", "\n"))


def _truncation(text: str, rng: random.Random) -> str:
    if len(text) < 2:
        return text
    keep = max(1, int(len(text) * rng.uniform(0.6, 0.85)))
    return text[:keep]


PERTURBATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "typos": _typos,
    "casing": _casing,
    "whitespace": _whitespace,
    "truncation": _truncation,
}


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def perturb(value: Any, name: str, *, seed: int = 0, key: str = "") -> Any:
    """``value`` with every string in it perturbed by ``name`` (seeded by ``seed`` and ``key``: reproducible)."""
    if name not in PERTURBATIONS:
        raise VariantError(f"--perturb {name!r}: expected one of {', '.join(PERTURBATIONS)}")
    rng = _rng(seed, key, name)
    noise = PERTURBATIONS[name]

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return noise(item, rng) if item else item
        if isinstance(item, dict):
            return {k: walk(v) for k, v in cast(dict[str, Any], item).items()}
        if isinstance(item, list):
            return [walk(v) for v in cast(list[Any], item)]
        return item

    return walk(value)


def _has_text(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value)
    if isinstance(value, dict):
        return any(_has_text(v) for v in cast(dict[str, Any], value).values())
    if isinstance(value, list):
        return any(_has_text(v) for v in cast(list[Any], value))
    return False


# --- prompt injection -----------------------------------------------------------------------------


def load_corpus(extra: str | Path | None = None) -> list[Injection]:
    """The built-in multilingual injection corpus, plus ``extra``: a JSON list of ``{"lang", "text"}``
    (or of strings), or a text file of one injection per line. ``{canary}`` marks where the token
    goes (appended when missing)."""
    text = resources.files("tracereel.evals").joinpath("data/injections.json").read_text(encoding="utf-8")
    corpus = cast(list[Injection], json.loads(text))
    if extra is None:
        return corpus
    path = Path(extra)
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise VariantError(f"attack corpus {path}: cannot read it ({exc.strerror or exc})") from None
    added: list[Injection] = []
    if path.suffix.lower() == ".json":
        try:
            items = json.loads(content)
        except ValueError as exc:
            raise VariantError(f"attack corpus {path}: not JSON ({exc})") from None
        if not isinstance(items, list):
            raise VariantError(f"attack corpus {path}: expected a JSON list")
        for item in cast(list[Any], items):
            if isinstance(item, str):
                added.append({"lang": "custom", "text": item})
            elif isinstance(item, dict) and isinstance(cast(dict[str, Any], item).get("text"), str):
                entry = cast(dict[str, Any], item)
                added.append({"lang": str(entry.get("lang", "custom")), "text": str(entry["text"])})
            else:
                raise VariantError(f"attack corpus {path}: each item is a string or {{lang, text}}")
    else:
        added = [{"lang": "custom", "text": line.strip()} for line in content.splitlines() if line.strip()]
    for item in added:
        if "{canary}" not in item["text"]:
            item["text"] += " {canary}"
    return corpus + added


def canary_token(case_id: str, index: int, seed: int = 0) -> str:
    """A token unique to the case and injection, reproducible across runs (so reports compare)."""
    return "CANARY-" + hashlib.sha256(f"{seed}|{case_id}|{index}".encode()).hexdigest()[:12].upper()


def plant(value: Any, text: str) -> tuple[Any, bool]:
    """``value`` with ``text`` appended to its longest string (the likeliest free text a model reads);
    (value, False) when it holds no string to plant into."""
    paths: list[tuple[int, list[Any]]] = []

    def find(item: Any, path: list[Any]) -> None:
        if isinstance(item, str):
            paths.append((len(item), path))
        elif isinstance(item, dict):
            for k, v in cast(dict[str, Any], item).items():
                find(v, [*path, k])
        elif isinstance(item, list):
            for i, v in enumerate(cast(list[Any], item)):
                find(v, [*path, i])

    find(value, [])
    if not paths:
        return value, False
    _, target = max(paths, key=lambda p: p[0])
    if not target:
        return f"{value}\n\n{text}", True
    copy = json.loads(json.dumps(value))
    holder = copy
    for step in target[:-1]:
        holder = holder[step]
    holder[target[-1]] = f"{holder[target[-1]]}\n\n{text}"
    return copy, True


def empty_like(value: Any) -> Any:
    """An empty value of the same shape: strings "", lists [], mappings with every field emptied, other values null."""
    if isinstance(value, str):
        return ""
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {k: empty_like(v) for k, v in cast(dict[str, Any], value).items()}
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return 0
    return None


# --- expansion ------------------------------------------------------------------------------------


def expand(
    cases: Sequence[Case],
    *,
    faults: Iterable[str] = (),
    perturbations: Iterable[str] = (),
    attack: str | None = None,
    corpus: Sequence[Injection] | None = None,
    seed: int = 0,
) -> list[Case]:
    """Every case, each followed by its variants: one per fault, per perturbation (for cases with
    string inputs) and per injection of the corpus."""
    parsed = [parse_fault(f) for f in faults]
    names = list(perturbations)
    for name in names:
        if name not in PERTURBATIONS:
            raise VariantError(f"--perturb {name!r}: expected one of {', '.join(PERTURBATIONS)}")
    if attack is not None and attack not in ATTACKS:
        raise VariantError(f"--attack {attack!r}: expected one of {', '.join(ATTACKS)}")
    injections = list(corpus) if corpus is not None else (load_corpus() if attack else [])
    out: list[Case] = []
    for case in cases:
        out.append(case)
        for target, fault in parsed:
            out.append(fault_variant(case, target, fault))
        for name in names:
            if _has_text(case.input):
                out.append(
                    replace(case, input=perturb(case.input, name, seed=seed, key=case.id), variant=f"perturb:{name}")
                )
        if attack:
            for index, injection in enumerate(injections, 1):
                token = canary_token(case.id, index, seed)
                out.append(
                    replace(
                        case,
                        variant=f"{attack}:{index}",
                        canary=token,
                        overrides={INJECTION_TARGET: injection["text"].replace("{canary}", token)},
                        scorers=("no_canary",),
                        tags={**case.tags, "attack_lang": injection.get("lang", "")},
                    )
                )
    return out
