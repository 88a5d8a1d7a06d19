"""PostgreSQL's type of each result column, where an engine's Arrow result cannot say it.

Arrow has one string type; PostgreSQL tells ``text`` from ``varchar``, ``bpchar``, ``name``, ``json``,
``jsonb`` and ``uuid``, and clients decode by that OID. A numeric column an engine returns as text (its
display scale differs per value: ``rewriter.render.duckdb_numeric``) is still ``numeric``. The declaration
is read from the rewritten tree, structurally: a cast names its type; a column of a derived table or CTE has
the type of the projection it reads; CASE/COALESCE/… have their branches' type when all branches agree; a
json-producing function is json. Anything else is left to the engine (``None``), so a declaration never
contradicts a type the engine reports: the proxy applies one only to a column the engine returns as text
(``proxy.result_types``).

>>> import sqlglot
>>> result_types(sqlglot.parse_one("SELECT 'x'::varchar(5) AS v, 'y' AS t, to_json(1) AS j", read="postgres"))
(('varchar', 9), None, ('json', -1))
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, build_scope

Declared = tuple[str, int]

_T = exp.DataType.Type
_VARHDRSZ = 4
_TEXT_TYPES = {_T.VARCHAR: "varchar", _T.CHAR: "bpchar", _T.BPCHAR: "bpchar", _T.NAME: "name", _T.JSON: "json",
               _T.JSONB: "jsonb", _T.UUID: "uuid"}
_JSON_FUNCTIONS = {"json_build_object": "json", "json_build_array": "json", "to_json": "json", "row_to_json": "json",
                   "array_to_json": "json", "json_agg": "json", "json_object_agg": "json", "json_object": "json",
                   "jsonb_build_object": "jsonb", "jsonb_build_array": "jsonb", "to_jsonb": "jsonb",
                   "jsonb_agg": "jsonb", "jsonb_object_agg": "jsonb", "jsonb_object": "jsonb"}
# nodes whose value is one of their arguments': the type when every (non-literal) argument agrees
_BRANCHING = (exp.Coalesce, exp.Case, exp.If, exp.Nullif, exp.Greatest, exp.Least, exp.Min, exp.Max,
              exp.AnyValue, exp.First, exp.Last, exp.Window, exp.Filter)


def result_types(tree: exp.Expression) -> tuple[Declared | None, ...]:
    """One entry per result column of ``tree``'s outermost query: (type name, typmod) or None."""
    if not isinstance(tree, exp.Query):
        return ()
    try:
        scope = build_scope(tree)
    except Exception:  # noqa: BLE001 - a tree sqlglot cannot scope: declare nothing
        return ()
    if scope is None:
        return ()
    return _query_types(tree, scope)


def _query_types(query: exp.Expression, scope: Scope) -> tuple[Declared | None, ...]:
    if isinstance(query, exp.Subquery):
        return _query_types(query.this, scope)
    if isinstance(query, exp.SetOperation):
        left = _query_types(query.left, _branch_scope(scope, query.left))
        right = _query_types(query.right, _branch_scope(scope, query.right))
        if len(left) != len(right):
            return ()
        return tuple(_union(a, b) for a, b in zip(left, right, strict=True))
    if not isinstance(query, exp.Select):
        return ()
    if any(isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))
           for p in query.expressions):
        return ()
    return tuple(declared_type(p, scope) for p in query.expressions)


def _union(a: Declared | None, b: Declared | None) -> Declared | None:
    """A set operation's column: the branches' common type; numeric when one branch is numeric (the others
    integers, which PostgreSQL converts; a text branch is refused before anything runs)."""
    if _NUMERIC in (a, b) and (a is None or b is None or a[0] == b[0]):
        return _NUMERIC
    return _agree([a, b])


def _branch_scope(scope: Scope, branch: exp.Expression) -> Scope:
    node = branch.this if isinstance(branch, exp.Subquery) else branch
    for child in scope.set_operation_scopes:
        if child.expression is node:
            return child
    return scope


def declared_type(node: exp.Expression, scope: Scope | None = None) -> Declared | None:
    """PostgreSQL's type of ``node`` when it is one Arrow cannot carry and the tree says it for sure."""
    if isinstance(node, exp.Alias | exp.Paren):
        return declared_type(node.this, scope)
    if isinstance(node, exp.Cast | exp.TryCast):
        return cast_type(node.to)
    if isinstance(node, exp.Column):
        return _column_type(node, scope)
    if isinstance(node, exp.Anonymous) and node.name.lower() in _JSON_FUNCTIONS:
        return (_JSON_FUNCTIONS[node.name.lower()], -1)
    if isinstance(node, exp.JSONArrayAgg | exp.JSONObjectAgg):
        return ("json", -1)
    if isinstance(node, exp.JSONExtract):
        inner = declared_type(node.this, scope)
        return inner if inner and inner[0] in ("json", "jsonb") else None
    if isinstance(node, exp.Uuid):
        return ("uuid", -1)
    if isinstance(node, _BRANCHING):
        typed = [arg for arg in _branches(node) if not _unknown(arg)]
        found = _agree([declared_type(arg, scope) for arg in typed])
        if found is not None:
            return found
    return _NUMERIC if _is_numeric(node) else None


_NUMERIC: Declared = ("numeric", -1)


def _is_numeric(node: exp.Expression) -> bool:
    if isinstance(node, exp.Window):
        node = node.this
    return node.type is not None and node.is_type(_T.DECIMAL, _T.BIGDECIMAL)


def _unknown(node: exp.Expression) -> bool:
    """PostgreSQL's ``unknown``: a string literal or NULL takes the type of the other branches."""
    return isinstance(node, exp.Null) or (isinstance(node, exp.Literal) and node.is_string)


def cast_type(to: exp.Expression) -> Declared | None:
    """The declared type of a cast to ``to`` (``varchar(5)``: typmod 9, as PostgreSQL reports it)."""
    if not isinstance(to, exp.DataType):
        return None
    if to.this in (_T.DECIMAL, _T.BIGDECIMAL):
        params = [_int(p) for p in to.expressions]
        if params and params[0] is not None:
            scale = params[1] if len(params) > 1 and params[1] is not None else 0
            return ("numeric", ((params[0] << 16) | scale) + _VARHDRSZ)
        return _NUMERIC
    name = _TEXT_TYPES.get(to.this)
    if name is None:
        return None
    params = [p for p in to.expressions if isinstance(p, exp.DataTypeParam | exp.Literal)]
    length = _int(params[0]) if params else None
    if name == "bpchar":
        return (name, (length or 1) + _VARHDRSZ) if to.this == _T.CHAR else (name, -1)
    if name == "varchar":
        return (name, length + _VARHDRSZ if length else -1)
    return (name, -1)


def _int(param: exp.Expression) -> int | None:
    try:
        return int(param.name)
    except (TypeError, ValueError):
        return None


def _branches(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Case):
        return [i.args["true"] for i in node.args.get("ifs") or []] + (
            [node.args["default"]] if node.args.get("default") is not None else [])
    if isinstance(node, exp.If):
        return [node.args["true"]] + ([node.args["false"]] if node.args.get("false") is not None else [])
    if isinstance(node, exp.Nullif | exp.Window | exp.Filter):
        return [node.this]
    return [node.this, *node.expressions]


def _agree(types: list[Declared | None]) -> Declared | None:
    """The common declared type of branches (None unless all declare the same type)."""
    known = [t for t in types if t is not None]
    if not known or len(known) != len(types):
        return None
    names = {t[0] for t in known}
    if len(names) != 1:
        return None
    typmods = {t[1] for t in known}
    return (known[0][0], known[0][1] if len(typmods) == 1 else -1)


def _column_type(column: exp.Column, scope: Scope | None) -> Declared | None:
    numeric = _NUMERIC if _is_numeric(column) else None
    if scope is None:
        return numeric
    sources = scope.sources
    candidates = [sources[column.table]] if column.table in sources else (
        [] if column.table else list(sources.values()))
    for source in candidates:
        if not isinstance(source, Scope):
            continue
        query = source.expression
        select = query
        while isinstance(select, exp.SetOperation):
            select = select.left
        if isinstance(select, exp.Subquery):
            select = select.this
        if not isinstance(select, exp.Select):
            continue
        for i, projection in enumerate(select.expressions):
            if projection.alias_or_name == column.name:
                types = _query_types(query, source)
                return types[i] if i < len(types) else None
    return numeric
