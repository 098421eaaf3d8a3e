"""How to run a dataset: the ``tracereel eval`` options that are not gates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["MODES", "RunOptions"]

MODES = ("tape", "live")


@dataclass(frozen=True)
class RunOptions:
    """How to run a dataset (the ``tracereel eval`` options that are not gates)."""

    agent: str | None = None  # "module:func" instead of the dataset's / recorded entry point
    tools: str | None = None  # tape | live; None: tape for a case with a trace
    llm: str | None = None  # tape | live; None: tape for a case with a trace (live for attack/perturb/trap)
    repeat: int = 1
    concurrency: int = 1
    faults: tuple[str, ...] = ()  # "tool:NAME=timeout|error"
    perturb: tuple[str, ...] = ()
    attack: str | None = None  # "prompt-injection"
    attack_corpus: str | None = None  # extra injections (JSON list or one per line)
    seed: int = 0
    progress: bool = False  # a progress bar on stderr

    def as_dict(self) -> dict[str, Any]:
        """The options as the report's ``options``."""
        return {
            "agent": self.agent,
            "tools": self.tools,
            "llm": self.llm,
            "repeat": self.repeat,
            "concurrency": self.concurrency,
            "faults": list(self.faults),
            "perturb": list(self.perturb),
            "attack": self.attack,
            "seed": self.seed,
        }
