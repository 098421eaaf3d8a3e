"""Golden sets: loading and checking a YAML or JSONL file of cases, adding cases from recorded traces.

A dataset file is reviewed like code, so every problem is reported as one line naming the file
and the case (:class:`DatasetError`), before anything runs. YAML needs PyYAML (the ``evals``
extra); JSONL needs nothing.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from tracereel.evals.model import Case, Dataset, ScorerSpec
from tracereel.evals.scorers import UnknownScorer, resolve

__all__ = [
    "STANDARD_TAGS",
    "DatasetError",
    "add_case",
    "case_from_trace",
    "coverage",
    "load_dataset",
]

# What is asked, how it is asked and who asks: the tags coverage always reports.
STANDARD_TAGS = ("topic", "style", "persona")

_CASE_KEYS = {"id", "input", "expected", "expected_from", "tags", "trace", "faults", "scorers", "trap"}
_TOP_KEYS = {"name", "agent", "scorers", "cases", "description"}
_TARGET = re.compile(r"^[^:\s]+:[A-Za-z_][\w.]*$")  # module:func or path/to/file.py:func


class DatasetError(ValueError):
    """A dataset that cannot run: the message is one line naming the file and the case."""

    def __init__(self, path: str | Path, message: str, case: str | None = None) -> None:
        where = f"{path}: case {case!r}: " if case is not None else f"{path}: "
        super().__init__(where + message)
        self.path = str(path)
        self.case = case


def _yaml() -> Any:
    try:
        import yaml
    except ImportError:  # the SDK's base install stays light; YAML datasets need the extra
        raise DatasetError("", "YAML datasets need PyYAML: pip install 'tracereel[evals]' (or use JSONL)") from None
    return yaml


def _read(path: Path) -> tuple[dict[str, Any], list[tuple[Any, int | None]]]:
    """The file's top-level mapping (without cases) and its raw cases with their line numbers."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(path, "no such file") from None
    except OSError as exc:
        raise DatasetError(path, f"cannot read it ({exc.strerror or exc})") from None
    if path.suffix.lower() == ".jsonl":
        cases: list[tuple[Any, int | None]] = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                cases.append((json.loads(line), number))
            except json.JSONDecodeError as exc:
                raise DatasetError(path, f"line {number} is not JSON ({exc.msg})") from None
        return {}, cases
    yaml = _yaml()
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DatasetError(path, f"{where}malformed YAML ({problem})") from None
    if data is None:
        data = cast(dict[str, Any], {"cases": []})
    if not isinstance(data, dict):
        raise DatasetError(path, "expected a mapping with a 'cases' list (or a .jsonl file of cases)")
    top = cast(dict[str, Any], data)
    unknown = sorted(set(top) - _TOP_KEYS)
    if unknown:
        raise DatasetError(path, f"unknown key {unknown[0]!r} (expected {', '.join(sorted(_TOP_KEYS))})")
    raw: Any = top.get("cases") or []
    if not isinstance(raw, list):
        raise DatasetError(path, "'cases' must be a list of cases")
    lines = _case_lines(node)
    items = cast(list[Any], raw)
    return top, [(item, lines[i] if i < len(lines) else None) for i, item in enumerate(items)]


def _case_lines(node: Any) -> list[int]:
    """Line numbers of the items of the top-level ``cases`` sequence (for error messages)."""
    try:
        for key, value in cast(list[tuple[Any, Any]], node.value):
            if key.value == "cases" and isinstance(getattr(value, "value", None), list):
                return [int(item.start_mark.line) + 1 for item in cast(list[Any], value.value)]
    except (AttributeError, TypeError):
        pass
    return []


def _scorers(path: Path, raw: Any, case: str | None) -> tuple[ScorerSpec, ...]:
    if raw is None:
        return ()
    specs = cast(list[Any], raw) if isinstance(raw, list) else [raw]
    for spec in specs:
        try:
            resolve(spec)
        except UnknownScorer as exc:
            raise DatasetError(path, str(exc), case) from None
    return tuple(specs)


def _case(path: Path, raw: Any, line: int | None, index: int) -> Case:
    if not isinstance(raw, dict):
        raise DatasetError(path, f"case #{index + 1} is not a mapping")
    item = cast(dict[str, Any], raw)
    case_id = item.get("id")
    if not isinstance(case_id, str | int) or isinstance(case_id, bool) or str(case_id) == "":
        raise DatasetError(path, f"case #{index + 1} has no id")
    cid = str(case_id)
    unknown = sorted(set(item) - _CASE_KEYS)
    if unknown:
        raise DatasetError(path, f"unknown key {unknown[0]!r} (expected {', '.join(sorted(_CASE_KEYS))})", cid)
    inputs = item.get("input", {})
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, dict):
        raise DatasetError(path, "input must be a mapping of the entry point's keyword arguments", cid)
    tags: Any = item.get("tags") or {}
    if not isinstance(tags, dict):
        raise DatasetError(path, "tags must be a mapping (topic: ..., style: ..., persona: ...)", cid)
    expected_from = item.get("expected_from")
    if expected_from is not None:
        if "expected" in item:
            raise DatasetError(path, "give expected or expected_from, not both", cid)
        if not isinstance(expected_from, str) or not _TARGET.match(expected_from):
            raise DatasetError(path, f"expected_from {expected_from!r} is not module:func", cid)
    trace = item.get("trace")
    if trace is not None:
        if not isinstance(trace, str):
            raise DatasetError(path, "trace must be the path of a trace file", cid)
        if not (path.parent / trace).is_file():
            raise DatasetError(path, f"trace file {trace} is missing (looked in {path.parent / trace})", cid)
    faults: Any = item.get("faults") or {}
    if not isinstance(faults, dict):
        raise DatasetError(path, "faults must be a mapping like {'tool:NAME': timeout}", cid)
    from tracereel.replay import CannotReplay, parse_faults

    try:
        parse_faults({str(k): str(v) for k, v in cast(dict[Any, Any], faults).items()})
    except CannotReplay as exc:
        raise DatasetError(path, str(exc), cid) from None
    trap = item.get("trap", False)
    if not isinstance(trap, bool):
        raise DatasetError(path, "trap must be true or false", cid)
    return Case(
        id=cid,
        input=cast(dict[str, Any], inputs),
        expected=item.get("expected"),
        expected_from=expected_from,
        tags={str(k): str(v) for k, v in cast(dict[Any, Any], tags).items()},
        trace=trace,
        faults={str(k): str(v) for k, v in cast(dict[Any, Any], faults).items()},
        scorers=_scorers(path, item.get("scorers"), cid),
        trap=trap,
        line=line,
    )


def load_dataset(path: str | Path) -> Dataset:
    """Read and check a dataset file (YAML mapping or JSONL of cases); :class:`DatasetError` if it cannot run."""
    file = Path(path)
    top, raw_cases = _read(file)
    name = top.get("name") or file.stem
    agent = top.get("agent")
    if agent is not None and (not isinstance(agent, str) or ":" not in agent):
        raise DatasetError(file, f"agent {agent!r} is not module:func")
    cases: list[Case] = []
    seen: dict[str, int | None] = {}
    for index, (raw, line) in enumerate(raw_cases):
        case = _case(file, raw, line, index)
        if case.id in seen:
            first = seen[case.id]
            also = f" (first at line {first})" if first else ""
            raise DatasetError(file, f"duplicate case id{also}", case.id)
        seen[case.id] = line
        cases.append(case)
    return Dataset(
        name=str(name),
        path=str(file),
        cases=tuple(cases),
        agent=agent,
        scorers=_scorers(file, top.get("scorers"), None),
    )


def coverage(dataset: Dataset) -> dict[str, dict[str, int]]:
    """Cases per value of each tag (``(none)`` counts cases without it); the standard tags always appear."""
    keys = list(STANDARD_TAGS) + sorted({k for c in dataset.cases for k in c.tags} - set(STANDARD_TAGS))
    out: dict[str, dict[str, int]] = {}
    for key in keys:
        counts = Counter(c.tags.get(key, "(none)") for c in dataset.cases)
        out[key] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return out


# --- adding a case from a recorded trace ----------------------------------------------------------


def case_from_trace(trace: Mapping[str, Any]) -> tuple[str, dict[str, Any], Any, str | None]:
    """(root agent name, recorded input, recorded output, the exception if the run raised) of a trace."""
    from tracereel.replay import CannotReplay, Tape

    try:
        tape = Tape(dict(trace))
    except CannotReplay as exc:
        raise ValueError(str(exc)) from None
    root = tape.root
    inputs = json.loads(root.arguments_json or "{}")
    if not isinstance(inputs, dict):
        raise ValueError("the root agent's recorded input is not a mapping of arguments")
    error = f"{root.error[0]}: {root.error[1]}" if root.error is not None else None
    output = json.loads(root.result_json) if root.result_json is not None else None
    return root.name, cast(dict[str, Any], inputs), output, error


def _case_id(taken: set[str], agent: str, trace_id: str) -> str:
    base = f"{agent or 'case'}-{trace_id[:8]}"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _yaml_item(item: dict[str, Any], indent: str) -> str:
    yaml = _yaml()
    text: str = yaml.safe_dump([item], sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
    return "".join(indent + line + "\n" for line in text.splitlines())


def _append_yaml(file: Path, item: dict[str, Any]) -> None:
    """Append ``item`` to the ``cases`` list without reformatting the rest of the file when the list
    is the file's last block (the usual layout); otherwise rewrite the file."""
    text = file.read_text(encoding="utf-8")
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r"^cases:\s*(#.*)?$", line)), None)
    if start is not None:
        later_top = any(re.match(r"^[A-Za-z_][\w-]*\s*:", line) for line in lines[start + 1 :])
        items = [line for line in lines[start + 1 :] if re.match(r"^\s*- ", line)]
        if not later_top:
            indent = re.match(r"^(\s*)- ", items[0]).group(1) if items else "  "  # type: ignore[union-attr]
            sep = "" if text.endswith("\n") or not text else "\n"
            file.write_text(text + sep + _yaml_item(item, indent), encoding="utf-8")
            return
    yaml = _yaml()
    data = cast(dict[str, Any], yaml.safe_load(text) or {})
    data.setdefault("cases", [])
    data["cases"] = [*(data["cases"] or []), item]
    file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000), encoding="utf-8")


def add_case(
    path: str | Path,
    trace_id: str,
    *,
    expected: Any = None,
    tags: Mapping[str, str] | None = None,
    case_id: str | None = None,
    client: Any = None,
    collector: str | None = None,
    failure: bool = False,
) -> Case:
    """Append a case made from a recorded trace to the dataset at ``path`` (created if missing).

    The trace is fetched through ``client`` (a :class:`tracereel.client.CollectorClient`, default
    one for ``collector``) and exported to ``traces/<id>.json`` beside the file; the case's input
    is the root agent's recorded input, its expected value the recorded output unless ``expected``
    is given. A ``failure`` (a trace from a failure cluster) has no right answer on record: without
    ``expected`` its case is written with ``expected: null``, for a person to fill in.
    Raises :class:`DatasetError`.
    """
    from tracereel.client import CollectorClient, CollectorError
    from tracereel.replay import export_trace

    file = Path(path)
    existing = load_dataset(file) if file.exists() else None
    client = client or CollectorClient(collector)
    try:
        trace = client.trace(trace_id)
    except CollectorError as exc:
        raise DatasetError(file, f"cannot fetch trace {trace_id}: {exc}") from None
    full_id = str(trace.get("trace_id") or trace_id)
    try:
        agent, inputs, output, error = case_from_trace(trace)
    except ValueError as exc:
        raise DatasetError(file, f"trace {full_id} cannot become a case: {exc}") from None
    if expected is None and not failure:
        if error is not None:
            raise DatasetError(file, f"trace {full_id} ended in {error}: say what was expected with --expected JSON")
        expected = output
    taken: set[str] = {c.id for c in existing.cases} if existing else set()
    cid = case_id or _case_id(taken, agent, full_id)
    if cid in taken:
        raise DatasetError(file, "duplicate case id", cid)
    traces = file.parent / "traces"
    traces.mkdir(parents=True, exist_ok=True)
    relative = f"traces/{full_id}.json"
    export_trace(trace, file.parent / relative, source=getattr(client, "base_url", None))
    item: dict[str, Any] = {"id": cid, "input": inputs, "expected": expected}
    if tags:
        item["tags"] = dict(tags)
    item["trace"] = relative
    if file.suffix.lower() == ".jsonl":
        sep = ""
        if file.exists():
            content = file.read_text(encoding="utf-8")
            sep = "" if not content or content.endswith("\n") else "\n"
        with file.open("a", encoding="utf-8") as out:
            out.write(sep + json.dumps(item, ensure_ascii=False) + "\n")
    elif not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(f"name: {file.stem}\ncases:\n" + _yaml_item(item, "  "), encoding="utf-8")
    else:
        _append_yaml(file, item)
    return Case(id=cid, input=inputs, expected=expected, tags=dict(tags or {}), trace=relative)
