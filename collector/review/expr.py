"""A review queue's ``--when`` expression: parsed once (lark), checked with a message that says where, compiled to SQL.

The language (DESIGN.md "Production loop", docs/review.md)::

    feedback < 0                    the task's latest feedback score (source ``feedback``)
    score.groundedness < 0.5        the task's latest score of that name, whatever its source
    status = error | status = ok    the task's outcome (tracereel/rules.py)
    escalated                       the task escalated to a human
    guardrail = violation           a guardrail said ``violation`` (``!=`` too)

Clauses join with ``and`` (binding tighter) and ``or``; parentheses group. Comparisons are
``< <= > >= = !=``. lark does the parsing (an LALR grammar, so a malformed expression fails at the
first token that cannot continue it, with the set of tokens that could); this module turns that
into one line: ``at 21: expected a number after '<'`` (1-based character position).

:func:`compile_expr` makes the SQL once, over a per-task row with the columns ``success``,
``violated``, ``escalated``, ``feedback``/``has_feedback`` and ``score_N``/``has_score_N`` for
each score name the expression reads (in :attr:`Expr.score_names` order). A clause on a score the
task does not have is false. The reason an item is in the queue is the first top-level ``or``
term that matches, as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, cast

from lark import Lark, Token, Transformer, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from tracereel.rules import negative_feedback_sql, task_success_sql

__all__ = ["MAX_EXPR_LENGTH", "BadExpression", "Clause", "CompiledExpr", "Expr", "compile_expr", "parse_expr"]

MAX_EXPR_LENGTH: Final = 1000

_GRAMMAR: Final = r"""
?start: disjunction
?disjunction: conjunction (_OR conjunction)*
?conjunction: _atom (_AND _atom)*
_atom: feedback | score | status | escalated | guardrail | "(" disjunction ")"
feedback: _FEEDBACK COMPARISON NUMBER
score: SCORE COMPARISON NUMBER
status: _STATUS EQUALITY OUTCOME
escalated: _ESCALATED
guardrail: _GUARDRAIL EQUALITY _VIOLATION

_OR: /or\b/i
_AND: /and\b/i
_FEEDBACK: /feedback\b/i
_STATUS: /status\b/i
_ESCALATED: /escalated\b/i
_GUARDRAIL: /guardrail\b/i
_VIOLATION: /violation\b/i
OUTCOME: /(ok|error)\b/i
SCORE: /score\.[A-Za-z][A-Za-z0-9_.-]{0,99}/
COMPARISON: "<=" | ">=" | "!=" | "<" | ">" | "="
EQUALITY: "!=" | "="
NUMBER: /[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?/

%import common.WS
%ignore WS
"""

# What each token the grammar could have wanted is called in an error message.
_WANTED: Final = {
    "NUMBER": "a number",
    "COMPARISON": "a comparison (< <= > >= = !=)",
    "EQUALITY": "= or !=",
    "OUTCOME": "ok or error",
    "_VIOLATION": "'violation'",
    "_OR": "'or'",
    "_AND": "'and'",
    "RPAR": "')'",
    "$END": "the end",
}
_CLAUSE_TOKENS: Final = frozenset({"_FEEDBACK", "SCORE", "_STATUS", "_ESCALATED", "_GUARDRAIL", "LPAR"})
_CLAUSE: Final = "a clause (feedback, score.NAME, status, escalated, guardrail = violation)"

_PARSER: Final = Lark(_GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)

Kind = Literal["feedback", "score", "status", "escalated", "guardrail"]


class BadExpression(ValueError):
    """The expression does not parse: the message says where (1-based) and what was expected."""


@dataclass(frozen=True)
class Clause:
    """One comparison of the expression: what it reads, how it compares, to what."""

    kind: Kind
    op: str = "="
    value: float | str = ""
    name: str = ""  # the score's name, for ``score.NAME``


# An expression tree: a clause, or ("or" | "and", [children]).
Node = Clause | tuple[Literal["or", "and"], list["Node"]]


@dataclass(frozen=True)
class Expr:
    """A parsed expression: its tree, its top-level ``or`` terms as written, and the score names it reads."""

    text: str
    terms: tuple[tuple[str, Node], ...]
    score_names: tuple[str, ...]


@dataclass(frozen=True)
class CompiledExpr:
    """The SQL of an expression over a per-task row (module docstring): whether it matches, and why."""

    expr: Expr
    reason_sql: str  # the first matching term's text, '' when none matches
    params: dict[str, object]


class _Build(Transformer[Token, Node]):
    # One method per rule of the grammar; each gets its children (the named tokens, or the built nodes).
    def feedback(self, children: list[Token]) -> Node:
        op, number = children
        return Clause("feedback", str(op), float(number))

    def score(self, children: list[Token]) -> Node:
        name, op, number = children
        return Clause("score", str(op), float(number), name=str(name).removeprefix("score."))

    def status(self, children: list[Token]) -> Node:
        op, outcome = children
        return Clause("status", str(op), str(outcome).lower())

    def escalated(self, children: list[Token]) -> Node:
        return Clause("escalated")

    def guardrail(self, children: list[Token]) -> Node:
        return Clause("guardrail", str(children[0]), "violation")

    def disjunction(self, children: list[Node]) -> Node:
        return ("or", list(children))

    def conjunction(self, children: list[Node]) -> Node:
        return ("and", list(children))


def _last_token(before: str) -> str | None:
    found = re.search(r"([A-Za-z0-9_.+-]+|[<>=!]+|[()])\s*$", before)
    return found.group(1) if found else None


def _problem(text: str, exc: UnexpectedInput) -> str:
    # lark's exceptions carry their details untyped; each is read into a typed local.
    position: int
    wanted: set[str]
    if isinstance(exc, UnexpectedCharacters):
        position, wanted = int(getattr(exc, "pos_in_stream", 0)) + 1, set(exc.allowed)
    elif isinstance(exc, UnexpectedEOF):
        position, wanted = len(text) + 1, set(cast("list[str]", exc.expected))
    elif isinstance(exc, UnexpectedToken):
        token = cast(Token, exc.token)  # pyright: ignore[reportUnknownMemberType]
        at_end = token.type == "$END"
        position = len(text.rstrip()) + 1 if at_end else int(token.start_pos or 0) + 1
        wanted = set(exc.expected)
    else:  # pragma: no cover - lark raises only the three above
        return f"cannot parse {text!r}"
    # LALR merges states: ')' may be offered with no '(' open, and the end left out where it fits.
    before = text[: position - 1]
    if before.count("(") <= before.count(")") and "_OR" in wanted:
        wanted = (wanted - {"RPAR"}) | {"$END"}
    words: list[str] = []
    if wanted & _CLAUSE_TOKENS:
        words.append(_CLAUSE)
    words.extend(sorted({_WANTED[t] for t in wanted - _CLAUSE_TOKENS if t in _WANTED}))
    expected = " or ".join(words) or "something else"
    after = _last_token(before)
    return f"at {position}: expected {expected}" + (f" after {after!r}" if after else "")


def _flatten(node: Node, op: Literal["or", "and"]) -> list[Node]:
    if isinstance(node, tuple) and node[0] == op:
        return [leaf for child in node[1] for leaf in _flatten(child, op)]
    return [node]


def parse_expr(text: str) -> Expr:
    """Parse a queue's expression; :class:`BadExpression` naming the position and what was expected."""
    if not text.strip():
        raise BadExpression(f"at 1: expected {_CLAUSE}")
    if len(text) > MAX_EXPR_LENGTH:
        raise BadExpression(
            f"at {MAX_EXPR_LENGTH + 1}: expected the end (an expression has at most {MAX_EXPR_LENGTH} characters)"
        )
    try:
        tree: Tree[Token] = _PARSER.parse(text)  # pyright: ignore[reportUnknownMemberType]
    except UnexpectedInput as exc:
        raise BadExpression(_problem(text, exc)) from None
    node = _Build().transform(tree)  # pyright: ignore[reportUnknownMemberType]
    top = tree.children if tree.data == "disjunction" else [tree]
    terms: list[tuple[str, Node]] = []
    for subtree, term in zip(top, _flatten(node, "or") if len(top) > 1 else [node], strict=True):
        meta = subtree.meta if isinstance(subtree, Tree) else None
        written = text[meta.start_pos : meta.end_pos] if meta is not None and not meta.empty else text.strip()
        terms.append((" ".join(written.split()), term))
    names: list[str] = []
    for _, term in terms:
        _score_names(term, names)
    return Expr(text=" ".join(text.split()), terms=tuple(terms), score_names=tuple(names))


def _score_names(node: Node, into: list[str]) -> None:
    if isinstance(node, Clause):
        if node.kind == "score" and node.name not in into:
            into.append(node.name)
        return
    for child in node[1]:
        _score_names(child, into)


_SQL_OPS: Final = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "=": "=", "!=": "!="}


def _clause_sql(clause: Clause, expr: Expr, params: dict[str, object]) -> str:
    op = _SQL_OPS[clause.op]
    if clause.kind == "feedback":
        # "feedback < 0" is the one rule of negative feedback; any other comparison is literal.
        if op == "<" and clause.value == 0:
            return f"(has_feedback AND {negative_feedback_sql('feedback')})"
        key = f"expr_{len(params)}"
        params[key] = clause.value
        return f"(has_feedback AND feedback {op} {{{key}:Float64}})"
    if clause.kind == "score":
        i = expr.score_names.index(clause.name)
        key = f"expr_{len(params)}"
        params[key] = clause.value
        return f"(has_score_{i} AND score_{i} {op} {{{key}:Float64}})"
    if clause.kind == "status":
        failed = f"NOT {task_success_sql('root_success', 'root_error')}"
        wants_error = (clause.value == "error") == (op == "=")
        return f"({failed})" if wants_error else f"(NOT ({failed}))"
    if clause.kind == "escalated":
        return "(escalated = 1)"
    return "(violated = 1)" if op == "=" else "(violated = 0)"


def _node_sql(node: Node, expr: Expr, params: dict[str, object]) -> str:
    if isinstance(node, Clause):
        return _clause_sql(node, expr, params)
    joiner = " OR " if node[0] == "or" else " AND "
    return "(" + joiner.join(_node_sql(child, expr, params) for child in node[1]) + ")"


def compile_expr(expr: Expr) -> CompiledExpr:
    """The SQL of ``expr`` (module docstring): ``reason_sql`` is the first matching term's text, else ''."""
    params: dict[str, object] = {}
    arms: list[str] = []
    for i, (written, term) in enumerate(expr.terms):
        key = f"expr_reason_{i}"
        params[key] = written
        arms.append(f"{_node_sql(term, expr, params)}, {{{key}:String}}")
    return CompiledExpr(expr=expr, reason_sql=f"multiIf({', '.join(arms)}, '')", params=params)
