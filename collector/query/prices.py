"""The LLM price table: built-in defaults, overridden by the TOML or JSON file ``TRACEREEL_PRICES`` names.

Prices are USD per million tokens, keyed by model: ``{model: {input_per_million, output_per_million}}``.
A span's model matches a key exactly, else the longest key it starts with followed by ``-``, ``:``,
``@`` or ``/`` (so ``gpt-4o-2024-08-06`` is priced as ``gpt-4o``, while ``gpt-4o-mini`` keeps its own
price). A model that matches nothing is unpriced and counts against ``cost_coverage``.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

from tracereel import toml

__all__ = ["DEFAULT_PRICES", "ENV_VAR", "Price", "PriceError", "PriceTable", "load_prices"]

ENV_VAR: Final = "TRACEREEL_PRICES"


@dataclass(frozen=True)
class Price:
    """USD per million input and output tokens."""

    input_per_million: float
    output_per_million: float


# List prices (USD per million tokens) published by the providers for their common models.
# They change; a deployment that needs exact numbers names its own table in TRACEREEL_PRICES.
DEFAULT_PRICES: Final[Mapping[str, Price]] = {
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "o1": Price(15.00, 60.00),
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    "claude-3-5-sonnet": Price(3.00, 15.00),
    "claude-3-7-sonnet": Price(3.00, 15.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-3-5-haiku": Price(0.80, 4.00),
    "claude-3-haiku": Price(0.25, 1.25),
    "claude-3-opus": Price(15.00, 75.00),
    "claude-opus-4": Price(15.00, 75.00),
    "gemini-1.5-pro": Price(1.25, 5.00),
    "gemini-1.5-flash": Price(0.075, 0.30),
    "gemini-2.0-flash": Price(0.10, 0.40),
    "gemini-2.5-pro": Price(1.25, 10.00),
    "gemini-2.5-flash": Price(0.30, 2.50),
    "mistral-large": Price(2.00, 6.00),
    "mistral-small": Price(0.20, 0.60),
}

_SEPARATORS = ("-", ":", "@", "/")


class PriceError(ValueError):
    """The price file named by ``TRACEREEL_PRICES`` cannot be used; the message says why."""


class PriceTable:
    """Prices by model, with the prefix matching described in the module docstring."""

    def __init__(self, prices: Mapping[str, Price]) -> None:
        self._prices = dict(prices)
        # Longest keys first, so the most specific prefix wins.
        self._by_length = sorted(self._prices, key=len, reverse=True)

    def __len__(self) -> int:
        return len(self._prices)

    def as_dict(self) -> dict[str, dict[str, float]]:
        """The table as plain JSON-able data."""
        return {
            m: {"input_per_million": p.input_per_million, "output_per_million": p.output_per_million}
            for m, p in sorted(self._prices.items())
        }

    def lookup(self, model: str) -> Price | None:
        """The price of ``model``, or None if the table has none for it."""
        if model in self._prices:
            return self._prices[model]
        for key in self._by_length:
            if model.startswith(key) and model[len(key) : len(key) + 1] in _SEPARATORS:
                return self._prices[key]
        return None

    def resolve(self, models: Iterable[str]) -> tuple[list[str], list[float], list[float]]:
        """For the given model names, the priced ones and their prices as three parallel lists.

        The lists are passed to SQL as array parameters (``transform(Model, models, prices, ...)``).
        """
        names: list[str] = []
        inputs: list[float] = []
        outputs: list[float] = []
        for model in sorted(set(models)):
            price = self.lookup(model)
            if price is not None and model:
                names.append(model)
                inputs.append(price.input_per_million)
                outputs.append(price.output_per_million)
        return names, inputs, outputs


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise PriceError(f"{where} must be a non-negative number, got {value!r}")
    return float(value)


def _parse(data: Any, source: str) -> dict[str, Price]:
    if not isinstance(data, dict):
        raise PriceError(f"{ENV_VAR}={source}: expected a table of models, got {type(data).__name__}")
    prices: dict[str, Price] = {}
    for model, entry in cast(dict[object, object], data).items():
        where = f"{ENV_VAR}={source}: model {model!r}"
        if not isinstance(entry, dict):
            raise PriceError(f"{where}: expected {{input_per_million, output_per_million}}, got {entry!r}")
        entry = cast(dict[str, object], entry)
        missing = [k for k in ("input_per_million", "output_per_million") if k not in entry]
        if missing:
            raise PriceError(f"{where}: missing {', '.join(missing)}")
        unknown = sorted(set(entry) - {"input_per_million", "output_per_million"})
        if unknown:
            raise PriceError(f"{where}: unknown key(s) {', '.join(unknown)}")
        prices[str(model)] = Price(
            _number(entry["input_per_million"], f"{where}: input_per_million"),
            _number(entry["output_per_million"], f"{where}: output_per_million"),
        )
    return prices


def _read_file(path_text: str) -> dict[str, Price]:
    path = Path(path_text).expanduser()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PriceError(f"{ENV_VAR}={path_text}: cannot read the price file ({exc.strerror or exc})") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PriceError(f"{ENV_VAR}={path_text}: not valid JSON ({exc})") from None
    else:
        # TOML unless the file says .json: a TOML table of tables is the friendlier format to write by hand.
        try:
            data = toml.loads(raw.decode("utf-8"))
        except (toml.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PriceError(f"{ENV_VAR}={path_text}: not valid TOML ({exc})") from None
    return _parse(data, path_text)


_cache: dict[tuple[str, float], PriceTable] = {}
_cache_lock = threading.Lock()


def load_prices(path: str | None = None) -> PriceTable:
    """The defaults, overridden model by model by the file at ``path`` (if given).

    Re-reads the file when it changes, so prices can be corrected without a restart.
    Raises PriceError, naming ``TRACEREEL_PRICES``, if the file is missing or malformed.
    """
    if not path:
        return PriceTable(DEFAULT_PRICES)
    try:
        mtime = os.stat(Path(path).expanduser()).st_mtime
    except OSError as exc:
        raise PriceError(f"{ENV_VAR}={path}: cannot read the price file ({exc.strerror or exc})") from None
    key = (path, mtime)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    table = PriceTable({**DEFAULT_PRICES, **_read_file(path)})
    with _cache_lock:
        _cache.clear()
        _cache[key] = table
    return table
