"""A small, safe formula language for KPI formulas.

``conversions / visitors * 100``, ``(revenue - spend) / spend * 100``, ``cac / (arpu / months)``.

Grammar: lower-case codes ``[a-z_][a-z0-9_]*``, decimal literals without exponent, binary
``+ - * /`` (usual precedence, left associative), parentheses, unary ``-`` and ``+``, and the
typographic multiplication, division and minus signs (U+00D7, U+00F7, U+2212) pasted from
documents. ``months`` is a built-in name: the number
of months in the period being computed.

Values are ``Decimal``. Undefined is not zero: a missing input or a division by zero makes the
result ``None``; evaluation never raises for those. Arithmetic uses a module-level decimal
context through its methods, so the caller's (thread-local) decimal context is never touched.

Nothing here uses ``eval``: a formula is parsed once and compiled into nested closures.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal
from types import MappingProxyType
from typing import Union

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

__all__ = [
    "MONTHS",
    "Catalog",
    "Formula",
    "FormulaError",
    "check_formula",
    "compile_catalog",
    "parse",
]

MONTHS = "months"
"""Built-in name: the number of months in the period being computed."""

MAX_DEPTH = 100
"""Deepest allowed nesting (parentheses, or operators in one chain) of a formula."""

# No traps: arithmetic never raises. Division by zero is checked explicitly, and a
# non-finite result (NaN or infinite inputs, overflow) is reported as no value.
_CTX = Context(prec=28, rounding=ROUND_HALF_EVEN, traps=[])
_ADD = _CTX.add
_SUB = _CTX.subtract
_MUL = _CTX.multiply
_DIV = _CTX.divide
_NEG = _CTX.minus

_OPERATORS = {"+": "+", "-": "-", "*": "*", "/": "/", "\u00d7": "*", "\u00f7": "/", "\u2212": "-"}
_NUMBER_RUN = re.compile(r"[0-9.][0-9A-Za-z_.]*")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_NAME_RUN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# User-facing messages; the English text is the msgid.
_MSG_EMPTY = _("The formula is empty.")
_MSG_CHARACTER = _('Unexpected character "%(char)s" at position %(position)s.')
_MSG_NUMBER = _('Invalid number "%(number)s" at position %(position)s.')
_MSG_DECIMAL_COMMA = _(
    'Write decimals with a point: "%(fixed)s", not "%(typed)s" (position %(position)s).'
)
_MSG_UPPERCASE = _(
    'Codes are lower-case: write "%(lower)s", not "%(name)s", at position %(position)s.'
)
_MSG_RESERVED = _('Names starting with "__" are not allowed: "%(name)s" at position %(position)s.')
_MSG_END = _("The formula ends unexpectedly at position %(position)s.")
_MSG_UNEXPECTED = _('Unexpected "%(token)s" at position %(position)s.')
_MSG_UNCLOSED = _("Parenthesis opened at position %(position)s is never closed.")
_MSG_UNOPENED = _("Closing parenthesis at position %(position)s has no opening one.")
_MSG_MISSING_OPERATOR = _('Missing operator before "%(token)s" at position %(position)s.')
_MSG_FUNCTION = _('Functions are not supported: "%(name)s(" at position %(position)s.')
_MSG_TOO_DEEP = _("The formula is nested too deeply at position %(position)s.")
_MSG_UNKNOWN = _('Unknown code "%(code)s" at position %(position)s.')
_MSG_CYCLE = _("Circular reference: %(cycle)s.")
_MSG_RESERVED_CODE = _('"%(code)s" is a built-in name and cannot be a KPI code.')
_MSG_METRIC_AND_KPI = _('"%(code)s" is both a metric code and a KPI code.')


class FormulaError(ValueError):
    """A formula that cannot be accepted; ``message`` is translated, ready to show."""

    message: str
    position: int | None
    code: str | None
    kpi: str | None

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        code: str | None = None,
        kpi: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.code = code
        self.kpi = kpi

    def __str__(self) -> str:
        return self.message


def _at(message: str | Promise, position: int, **params: object) -> FormulaError:
    """The error at ``position`` (an index, kept for the caret), its message counting
    characters from 1 as people do."""
    return FormulaError(str(message) % {**params, "position": position + 1}, position=position)


# --------------------------------------------------------------------------------------------
# Tokens and syntax tree


_NUM, _NAME, _OP, _LPAREN, _RPAREN, _END = "num", "name", "op", "(", ")", "end"


class _Token:
    __slots__ = ("kind", "pos", "raw", "value")

    def __init__(self, kind: str, value: str, pos: int, raw: str) -> None:
        self.kind = kind
        self.value = value  # normalised: operator symbol, name, or number text
        self.pos = pos
        self.raw = raw  # as written by the user, for messages


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in _OPERATORS:
            tokens.append(_Token(_OP, _OPERATORS[ch], i, ch))
            i += 1
        elif ch == "(" or ch == ")":
            tokens.append(_Token(ch, ch, i, ch))
            i += 1
        elif "0" <= ch <= "9" or (ch == "." and i + 1 < n and "0" <= text[i + 1] <= "9"):
            match = _NUMBER_RUN.match(text, i)
            assert match is not None
            run = match.group()
            if not _NUMBER.fullmatch(run):
                raise _at(_MSG_NUMBER, i, number=run)
            tokens.append(_Token(_NUM, run, i, run))
            i = match.end()
        elif ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ch == "_":
            match = _NAME_RUN.match(text, i)
            assert match is not None
            name = match.group()
            if name != name.lower():
                raise _at(_MSG_UPPERCASE, i, lower=name.lower(), name=name)
            if name.startswith("__"):
                raise _at(_MSG_RESERVED, i, name=name)
            tokens.append(_Token(_NAME, name, i, name))
            i = match.end()
        elif (
            ch == ","
            and tokens
            and tokens[-1].kind == _NUM
            and tokens[-1].pos + len(tokens[-1].raw) == i
            and i + 1 < n
            and "0" <= text[i + 1] <= "9"
        ):  # 0,5 typed the French way
            whole = tokens[-1].raw
            decimals = _NUMBER_RUN.match(text, i + 1)
            assert decimals is not None
            typed, fixed = f"{whole},{decimals.group()}", f"{whole}.{decimals.group()}"
            raise _at(_MSG_DECIMAL_COMMA, i, typed=typed, fixed=fixed)
        else:
            shown = ch if ch.isprintable() else f"U+{ord(ch):04X}"
            raise _at(_MSG_CHARACTER, i, char=shown)
    tokens.append(_Token(_END, "", n, ""))
    return tokens


# Nodes are tuples: ("num", Decimal) | ("name", str) | ("neg", node) | ("bin", op, left, right)
_Node = tuple


class _Parser:
    """Recursive descent: expr := term (+|- term)*; term := unary (*|/ unary)*;
    unary := (+|-)* primary; primary := number | name | ( expr )."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.names: list[tuple[str, int]] = []  # every name, in order, with its position

    def parse(self) -> _Node:
        if self.tokens[0].kind == _END:
            raise FormulaError(str(_MSG_EMPTY), position=0)
        node, _height = self._expr(0)
        self._expect_end()
        return node

    # helpers

    def _peek(self) -> _Token:
        return self.tokens[self.index]

    def _error(self, message: str | Promise, at: _Token, **params: object) -> FormulaError:
        return _at(message, at.pos, **params)

    def _after_operand(self, token: _Token) -> FormulaError:
        """Error for a token that follows a complete operand but is not an operator."""
        previous = self.tokens[self.index - 1]
        if token.kind == _LPAREN and previous.kind == _NAME:
            return self._error(_MSG_FUNCTION, token, name=previous.value)
        return self._error(_MSG_MISSING_OPERATOR, token, token=token.raw)

    def _expect_end(self) -> None:
        token = self._peek()
        if token.kind == _END:
            return
        if token.kind == _RPAREN:
            raise self._error(_MSG_UNOPENED, token)
        raise self._after_operand(token)

    # grammar

    def _expr(self, depth: int) -> tuple[_Node, int]:
        node, height = self._term(depth)
        while (token := self._peek()).kind == _OP and token.value in "+-":
            self.index += 1
            right, right_height = self._term(depth)
            node, height = ("bin", token.value, node, right), max(height, right_height) + 1
            self._check_height(height, token)
        return node, height

    def _term(self, depth: int) -> tuple[_Node, int]:
        node, height = self._unary(depth)
        while (token := self._peek()).kind == _OP and token.value in "*/":
            self.index += 1
            right, right_height = self._unary(depth)
            node, height = ("bin", token.value, node, right), max(height, right_height) + 1
            self._check_height(height, token)
        return node, height

    def _unary(self, depth: int) -> tuple[_Node, int]:
        negative = False
        first = self._peek()
        while (token := self._peek()).kind == _OP and token.value in "+-":
            self.index += 1
            negative ^= token.value == "-"
        node, height = self._primary(depth)
        if negative:
            if node[0] == "num":
                return ("num", _NEG(node[1])), height
            node, height = ("neg", node), height + 1
            self._check_height(height, first)
        return node, height

    def _primary(self, depth: int) -> tuple[_Node, int]:
        token = self._peek()
        if token.kind == _NUM:
            self.index += 1
            return ("num", Decimal(token.value)), 0
        if token.kind == _NAME:
            self.index += 1
            self.names.append((token.value, token.pos))
            return ("name", token.value), 0
        if token.kind == _LPAREN:
            if depth >= MAX_DEPTH:
                raise self._error(_MSG_TOO_DEEP, token)
            self.index += 1
            node, height = self._expr(depth + 1)
            closing = self._peek()
            if closing.kind == _RPAREN:
                self.index += 1
                return node, height
            if closing.kind == _END:
                raise self._error(_MSG_UNCLOSED, token)
            raise self._after_operand(closing)
        if token.kind == _END:
            raise self._error(_MSG_END, token)
        raise self._error(_MSG_UNEXPECTED, token, token=token.raw)

    def _check_height(self, height: int, token: _Token) -> None:
        if height > MAX_DEPTH:
            raise self._error(_MSG_TOO_DEEP, token)


# --------------------------------------------------------------------------------------------
# Compilation to closures

_Value = Union[Decimal, None]  # noqa: UP007 - used at runtime in an alias
_Env = Mapping[str, _Value]
_Fn = Callable[[_Env], _Value]


class _Undefined:
    """A constant sub-expression with no value, such as ``1 / 0``."""


_UNDEFINED = _Undefined()


def _fold(node: _Node) -> Decimal | _Undefined | None:
    """The constant value of a sub-expression without names, else ``None``."""
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "name":
        return None
    if kind == "neg":
        value = _fold(node[1])
        return _NEG(value) if isinstance(value, Decimal) else value
    left, right = _fold(node[2]), _fold(node[3])
    if left is None or right is None:
        return None
    if isinstance(left, _Undefined) or isinstance(right, _Undefined):
        return _UNDEFINED
    op = node[1]
    if op == "/":
        return _UNDEFINED if not right else _DIV(left, right)
    return {"+": _ADD, "-": _SUB, "*": _MUL}[op](left, right)


def _constant(value: _Value) -> _Fn:
    def constant(env: _Env) -> _Value:
        return value

    return constant


def _compile(node: _Node) -> _Fn:
    """Closures for a node; leaves under an operator are inlined into it for speed."""
    folded = _fold(node)
    if folded is not None:
        return _constant(None if isinstance(folded, _Undefined) else folded)
    kind = node[0]
    if kind == "name":
        name: str = node[1]

        def read(env: _Env) -> _Value:
            return env.get(name)

        return read
    if kind == "neg":
        inner = _compile(node[1])

        def negate(env: _Env) -> _Value:
            value = inner(env)
            return None if value is None else _NEG(value)

        return negate
    return _compile_binary(node[1], node[2], node[3])


def _compile_binary(op: str, left: _Node, right: _Node) -> _Fn:
    right_const = _fold(right)
    left_const = _fold(left)
    if isinstance(left_const, _Undefined) or isinstance(right_const, _Undefined):
        return _constant(None)
    if op == "/":
        if right_const is None:
            return _compile_division(left, right, left_const)
        if not right_const:
            return _constant(None)
    # From here a divisor is a non-zero constant: no zero check needed.
    fn = {"+": _ADD, "-": _SUB, "*": _MUL, "/": _DIV}[op]

    if right_const is not None:
        c = right_const
        if left[0] == "name":
            a_name: str = left[1]

            def name_op_const(env: _Env) -> _Value:
                a = env.get(a_name)
                return None if a is None else fn(a, c)

            return name_op_const
        a_fn = _compile(left)

        def node_op_const(env: _Env) -> _Value:
            a = a_fn(env)
            return None if a is None else fn(a, c)

        return node_op_const

    if left_const is not None:
        k = left_const
        if right[0] == "name":
            b_name: str = right[1]

            def const_op_name(env: _Env) -> _Value:
                b = env.get(b_name)
                return None if b is None else fn(k, b)

            return const_op_name
        b_fn = _compile(right)

        def const_op_node(env: _Env) -> _Value:
            b = b_fn(env)
            return None if b is None else fn(k, b)

        return const_op_node

    if left[0] == "name" and right[0] == "name":
        a_name, b_name = left[1], right[1]

        def name_op_name(env: _Env) -> _Value:
            a = env.get(a_name)
            if a is None:
                return None
            b = env.get(b_name)
            return None if b is None else fn(a, b)

        return name_op_name

    a_fn, b_fn = _compile(left), _compile(right)

    def node_op_node(env: _Env) -> _Value:
        a = a_fn(env)
        if a is None:
            return None
        b = b_fn(env)
        return None if b is None else fn(a, b)

    return node_op_node


def _compile_division(left: _Node, right: _Node, left_const: Decimal | None) -> _Fn:
    """``left / right``; the divisor is not a constant (constant divisors are handled above)."""
    if left_const is not None:
        k = left_const

        if right[0] == "name":
            b_name: str = right[1]

            def const_div_name(env: _Env) -> _Value:
                b = env.get(b_name)
                return None if not b else _DIV(k, b)

            return const_div_name
        b_fn = _compile(right)

        def const_div_node(env: _Env) -> _Value:
            b = b_fn(env)
            return None if not b else _DIV(k, b)

        return const_div_node

    if left[0] == "name" and right[0] == "name":
        a_name, b_name = left[1], right[1]

        def name_div_name(env: _Env) -> _Value:
            a = env.get(a_name)
            if a is None:
                return None
            b = env.get(b_name)
            return None if not b else _DIV(a, b)

        return name_div_name

    a_fn, b_fn = _compile(left), _compile(right)

    def node_div_node(env: _Env) -> _Value:
        a = a_fn(env)
        if a is None:
            return None
        b = b_fn(env)
        return None if not b else _DIV(a, b)

    return node_div_node


# --------------------------------------------------------------------------------------------
# Public API


class Formula:
    """A parsed, compiled formula. Immutable."""

    __slots__ = ("_fn", "_names", "_references", "_uses_months", "text")

    text: str
    _fn: _Fn
    _names: tuple[tuple[str, int], ...]
    _references: frozenset[str]
    _uses_months: bool

    def __init__(self, text: str, fn: _Fn, names: Iterable[tuple[str, int]]) -> None:
        names = tuple(names)
        set_ = object.__setattr__
        set_(self, "text", text)
        set_(self, "_fn", fn)
        set_(self, "_names", names)
        set_(self, "_references", frozenset(name for name, _pos in names if name != MONTHS))
        set_(self, "_uses_months", any(name == MONTHS for name, _pos in names))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Formula is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Formula is immutable; cannot delete {name!r}")

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Formula) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def references(self) -> frozenset[str]:
        """The codes the formula uses, without the built-in ``months``."""
        return self._references

    def position_of(self, name: str) -> int | None:
        """Position of the first use of ``name`` in ``text``, if used."""
        return next((pos for used, pos in self._names if used == name), None)

    def evaluate(self, values: Mapping[str, Decimal | None], *, months: int) -> Decimal | None:
        """The value, or ``None`` when an input is missing or a divisor is zero."""
        env = {**values, MONTHS: Decimal(months)} if self._uses_months else values
        result = self._fn(env)
        if result is None or not result.is_finite():
            return None
        return result


def parse(text: str) -> Formula:
    """Parse (syntax only) and compile ``text``; ``FormulaError`` with a position if invalid."""
    parser = _Parser(text)
    tree = parser.parse()
    return Formula(text, _compile(tree), parser.names)


def _unknown_error(formula: Formula, known: Callable[[str], bool], kpi: str) -> FormulaError | None:
    for name, position in formula._names:
        if name != MONTHS and not known(name):
            error = _at(_MSG_UNKNOWN, position, code=name)
            error.code, error.kpi = name, kpi
            return error
    return None


def _cycle_error(path: list[str], formula: Formula, kpi: str) -> FormulaError:
    """``path`` runs from ``kpi`` back to ``kpi``; the position is the first step's use."""
    return FormulaError(
        _MSG_CYCLE % {"cycle": " → ".join(path)},
        position=formula.position_of(path[1]),
        kpi=kpi,
    )


def check_formula(
    text: str,
    *,
    code: str,
    metric_codes: Iterable[str],
    kpi_formulas: Mapping[str, str],
) -> Formula:
    """Check KPI ``code``'s new formula ``text`` against the metrics and the other KPIs.

    ``kpi_formulas`` holds the KPIs' current formulas (an entry for ``code`` is replaced by
    ``text``). Other KPIs' formulas that do not parse are ignored here.
    """
    metrics = frozenset(metric_codes)
    if code == MONTHS:
        raise FormulaError(_MSG_RESERVED_CODE % {"code": code}, kpi=code)
    if code in metrics:
        raise FormulaError(_MSG_METRIC_AND_KPI % {"code": code}, kpi=code)
    try:
        formula = parse(text)
    except FormulaError as error:
        error.kpi = code
        raise
    kpis = set(kpi_formulas) | {code}
    unknown = _unknown_error(formula, lambda name: name in metrics or name in kpis, code)
    if unknown is not None:
        raise unknown

    # Shortest path from `code` back to itself, breadth first, through the other KPIs.
    def kpi_references(kpi: str) -> list[str]:
        if kpi == code:
            used = formula._names
        else:
            try:
                used = parse(kpi_formulas[kpi])._names
            except FormulaError:
                return []
        return list(dict.fromkeys(name for name, _pos in used if name in kpis))

    parent: dict[str, str] = {}
    frontier = [code]
    while frontier:
        following: list[str] = []
        for kpi in frontier:
            for used in kpi_references(kpi):
                if used == code:
                    path = [code]
                    while kpi != code:
                        path.append(kpi)
                        kpi = parent[kpi]
                    path = [code, *reversed(path[1:]), code]
                    raise _cycle_error(path, formula, code)
                if used not in parent:
                    parent[used] = kpi
                    following.append(used)
        frontier = following
    return formula


class Catalog:
    """All of an organization's KPIs, compiled; evaluate them together in dependency order."""

    __slots__ = ("_base_metrics", "_dependents", "_steps", "formulas", "metric_codes", "order")

    order: tuple[str, ...]
    formulas: Mapping[str, Formula]
    metric_codes: frozenset[str]

    def __init__(
        self, order: tuple[str, ...], formulas: Mapping[str, Formula], metric_codes: frozenset[str]
    ) -> None:
        self.order = order
        self.formulas = MappingProxyType(dict(formulas))
        self.metric_codes = metric_codes
        self._steps = tuple((code, formulas[code]._fn) for code in order)

        base: dict[str, frozenset[str]] = {}
        users: dict[str, set[str]] = {code: set() for code in (*order, *metric_codes)}
        for code in order:  # dependencies first, so their base metrics are known
            refs = formulas[code].references()
            base[code] = frozenset(m for r in refs for m in base.get(r, (r,)))
            for r in refs:
                users[r].add(code)
        self._base_metrics = base

        dependents: dict[str, frozenset[str]] = {}
        for code in users:
            seen: set[str] = set()
            stack = list(users[code])
            while stack:
                user = stack.pop()
                if user not in seen:
                    seen.add(user)
                    stack.extend(users[user])
            dependents[code] = frozenset(seen)
        self._dependents = dependents

    def __repr__(self) -> str:
        return f"Catalog({len(self.order)} KPIs)"

    def evaluate(
        self, metric_values: Mapping[str, Decimal | None], *, months: int
    ) -> dict[str, Decimal | None]:
        """Every KPI's value (``None`` when undefined), in dependency order."""
        env: dict[str, Decimal | None] = dict(metric_values)
        env[MONTHS] = Decimal(months)
        results: dict[str, Decimal | None] = {}
        for code, fn in self._steps:
            value = fn(env)
            if value is not None and not value.is_finite():
                value = None
            env[code] = results[code] = value
        return results

    def base_metrics(self, kpi_code: str) -> frozenset[str]:
        """The metric codes a KPI needs, directly or through other KPIs."""
        return self._base_metrics[kpi_code]

    def dependents(self, kpi_code: str) -> frozenset[str]:
        """The KPIs that use ``kpi_code`` (a KPI or metric code), directly or transitively."""
        return self._dependents[kpi_code]


def compile_catalog(kpi_formulas: Mapping[str, str], metric_codes: Iterable[str]) -> Catalog:
    """Parse and check every KPI; ``FormulaError`` (with ``kpi`` set) for the first problem."""
    metrics = frozenset(metric_codes)
    formulas: dict[str, Formula] = {}
    for code, text in kpi_formulas.items():
        if code == MONTHS:
            raise FormulaError(_MSG_RESERVED_CODE % {"code": code}, kpi=code)
        if code in metrics:
            raise FormulaError(_MSG_METRIC_AND_KPI % {"code": code}, kpi=code)
        try:
            formulas[code] = parse(text)
        except FormulaError as error:
            error.kpi = code
            raise
    for code, formula in formulas.items():
        unknown = _unknown_error(formula, lambda name: name in metrics or name in formulas, code)
        if unknown is not None:
            raise unknown

    # Depth-first, in the catalog's order: post-order puts dependencies first.
    order: list[str] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in formulas:
        if root in state:
            continue
        path = [root]
        state[root] = 1
        pending = [iter(_kpi_refs(formulas[root], formulas))]
        while pending:
            following = next(pending[-1], None)
            if following is None:
                pending.pop()
                done = path.pop()
                state[done] = 2
                order.append(done)
            elif state.get(following) == 1:
                cycle = [*path[path.index(following) :], following]
                raise _cycle_error(cycle, formulas[following], following)
            elif following not in state:
                state[following] = 1
                path.append(following)
                pending.append(iter(_kpi_refs(formulas[following], formulas)))
    return Catalog(tuple(order), formulas, metrics)


def _kpi_refs(formula: Formula, formulas: Mapping[str, Formula]) -> list[str]:
    """KPI codes used by a formula, in order of first use."""
    return list(dict.fromkeys(name for name, _pos in formula._names if name in formulas))
