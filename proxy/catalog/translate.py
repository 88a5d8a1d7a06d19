"""A client's catalog query (Postgres AST) → DuckDB SQL over one database's catalog schemas.

A tuple of small AST rules, applied to a copy of the client's tree:

- session functions (``current_user``, ``version()`` …) become literals (``proxy.pgfunctions``);
- every table reference is resolved: a catalog relation (``pg_class``, ``pg_catalog.pg_class``,
  ``information_schema.tables``) becomes ``db<i>.pg_class``; a session relation (``pg_settings``,
  ``pg_stat_activity``, the role views) becomes that relation plus the session's own rows; a CTE stays;
  anything else is 42P01, so no query can reach a relation the catalog does not define (DuckDB's own
  ``pg_catalog``/``information_schema`` included);
- catalog functions are qualified with the database's schema (their DuckDB macros); ``pg_catalog.``
  qualifiers are dropped; engine functions (``duckdb_*``, ``read_*`` …) are refused (42501);
- ``::regclass``/``::regtype``/``::regnamespace``/``::regproc``/``::regrole``: a string literal becomes the
  object's OID (looked up now); an OID compared with something stays an OID; an OID shown becomes its name;
- ``OPERATOR(pg_catalog.~)`` becomes a regex match, ``COLLATE pg_catalog.default`` disappears;
- subscripts of ``int2vector``/``oidvector`` columns (0-based in Postgres) shift by one;
- computed select-list expressions are named as Postgres names them (``exists``, ``?column?``);
- LIKE escapes with a backslash; ``::name`` is text; ``oidvector::regtype[]`` gives the types' names;
  ``x = ANY('{a,b}')`` takes the array literal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlglot import exp

from proxy import pgfunctions
from proxy.catalog.functions import macro_names
from proxy.catalog.store import Relation
from proxy.errors import InsufficientPrivilege, SqlError
from rewriter.functions import SESSION_FUNCTIONS, check_calls
from rewriter.naming import postgres_column_name
from rewriter.postgres import fold_identifiers

_REG_TYPES = {"REGCLASS": "regclass", "REGTYPE": "regtype", "REGNAMESPACE": "regnamespace", "REGPROC": "regproc",
              "REGPROCEDURE": "regproc", "REGROLE": "regrole", "REGOPER": "regoper", "REGOPERATOR": "regoper",
              "REGCONFIG": "regconfig", "REGDICTIONARY": "regconfig", "REGCOLLATION": "regcollation"}
_NAME_TYPES = {"TEXT", "VARCHAR", "NAME", "CHAR", "BPCHAR"}
SESSION_RELATIONS = ("pg_settings", "pg_stat_activity", "pg_roles", "pg_user", "pg_authid", "pg_shadow")
_MACROS = macro_names()
_TABLE_FUNCTIONS = {"pg_get_keywords": "pg_catalog", "_pg_expandarray": "information_schema",
                    "pg_partition_ancestors": "pg_catalog", "pg_timezone_names": "pg_catalog",
                    "pg_timezone_abbrevs": "pg_catalog"}


class UndefinedTable(SqlError):
    def __init__(self, name: str) -> None:
        super().__init__(f'relation "{name}" does not exist', sqlstate="42P01")


@dataclass(frozen=True)
class Target:
    """What a translation needs to know: the database's schemas and the lookups for reg* literals."""

    pg: str  # DuckDB schema of this database's pg_catalog
    info: str  # … and of its information_schema
    relations: dict[str, Relation]
    lookup: Callable[[str, str], int | None]  # (reg type, name) -> OID
    session_rows: Callable[[str], tuple[list[str], list[tuple[object, ...]]]]  # relation -> (columns, rows)
    vector_columns: frozenset[str]
    started_at: str  # pg_postmaster_start_time()


def translate(tree: exp.Expression, context: object, target: Target) -> tuple[str, list[int]]:
    """DuckDB SQL for the catalog query ``tree`` (not modified), and the client parameter numbers it uses."""
    check_calls(tree)  # PostgreSQL's functions only (the router checked the client's spelling already)
    tree = _name_projections(fold_identifiers(tree.copy()))  # AS Foo names the column foo, as in Postgres
    tree = pgfunctions.evaluate(tree, context)  # type: ignore[arg-type]
    tree = _each(tree, exp.Anonymous, lambda n: _current_setting(n, context))
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    tree = _each(tree, exp.Dot, _expandarray_fields)
    for rule in (_unqualify_functions, _operators, _vectors, _array_literals, _like_escape):
        tree = tree.transform(rule, copy=False)
    tree = _each(tree, exp.Anonymous, _all_any_calls)
    tree = _each(tree, exp.Format, _format)
    tree = _each(tree, exp.DataType, lambda n: _casts(n, target))
    tree = _each(tree, exp.Cast, lambda n: _casts(n, target))
    tree = _each(tree, exp.Anonymous, lambda n: _functions(n, target))
    _system_columns(tree, target)
    tree = _each(tree, exp.Table, lambda n: _tables(n, target, ctes))
    used = _renumber_placeholders(tree)
    return tree.sql(dialect="duckdb"), used


def _name_projections(tree: exp.Expression) -> exp.Expression:
    """Alias every computed select-list expression with the name Postgres gives it (``exists``,
    ``format_type``, ``?column?``), before the rules below turn it into DuckDB's own spelling (which would
    otherwise name the column ``db0.format_type(atttypid, atttypmod)``)."""
    for select in tree.find_all(exp.Select):
        for projection in select.expressions:
            if isinstance(projection, exp.Alias | exp.Star | exp.Column):
                continue
            projection.replace(exp.alias_(projection.copy(), _column_name(projection), quoted=True))
    return tree


def _column_name(projection: exp.Expression) -> str:
    if isinstance(projection, exp.Dot):
        if isinstance(projection.expression, exp.Identifier):
            return projection.expression.name  # (information_schema._pg_expandarray(a)).n
        return _column_name(projection.expression)  # pg_catalog.col_description(…)
    if isinstance(projection, exp.Cast):
        # Postgres's FigureColname: a cast is named by what it casts when that is a column or a function
        # (strength 2), else by the outermost type: 'int4'::regtype::text is "text", 'x'::pg_catalog.name "name"
        inner = projection
        while isinstance(inner, exp.Cast | exp.Paren):
            inner = inner.this
        if isinstance(inner, exp.Column | exp.Dot) or (isinstance(inner, exp.Func) and not isinstance(inner, exp.Case)):
            return _column_name(inner)
        typed = postgres_column_name(exp.Cast(this=exp.Literal.number(0), to=projection.to))
        return typed.rsplit(".", 1)[-1]
    return postgres_column_name(projection)


def _current_setting(node: exp.Expression, context: object) -> exp.Expression:
    """``current_setting(<expression>)`` (a bound parameter, a column): a CASE over the session's settings."""
    if node.name.lower() != "current_setting" or not node.expressions:
        return node
    settings = getattr(context, "settings", None)
    values = {name.lower(): value for name, value, _ in settings.show_all()} if settings is not None else {}
    values = {**pgfunctions.SERVER_SETTINGS, **values}
    case = exp.Case(this=exp.func("lower", exp.cast(node.expressions[0].copy(), "VARCHAR")))
    for name, value in values.items():
        case = case.when(exp.Literal.string(name), exp.Literal.string(value))
    return case


def _system_columns(tree: exp.Expression, target: Target) -> None:
    """``tableoid`` (the system column naming a row's relation) becomes the catalog relation's OID."""
    columns = [c for c in tree.find_all(exp.Column) if c.name.lower() == "tableoid"]
    if not columns:
        return
    oids: dict[str, int] = {}
    for table in tree.find_all(exp.Table):
        if isinstance(table.this, exp.Identifier):
            schema = table.db.lower() or "pg_catalog"
            oid = target.lookup("regclass", f"{schema}.{table.name.lower()}")
            if oid is not None:
                oids[table.alias_or_name.lower()] = oid
    for column in columns:
        oid = oids.get(column.table.lower()) if column.table else next(iter(oids.values()), None)
        if oid is not None:
            column.replace(exp.Literal.number(oid))


def _renumber_placeholders(tree: exp.Expression) -> list[int]:
    """Number the remaining ``$n`` 1..k (rules may drop some) and return the client's n for each."""
    nodes = [p for p in tree.find_all(exp.Placeholder, exp.Parameter) if p.name.isdigit()]
    used = sorted({int(p.name) for p in nodes})
    new = {n: i for i, n in enumerate(used, 1)}
    for p in nodes:
        number = str(new[int(p.name)])
        p.set("this", exp.Literal.number(number) if isinstance(p, exp.Parameter) else number)
    return used


def _each(tree: exp.Expression, kind: type, rule: Callable[[exp.Expression], exp.Expression]) -> exp.Expression:
    """Apply ``rule`` to every node of ``kind``, innermost first (nested calls and subqueries included)."""
    for node in reversed(list(tree.find_all(kind))):
        new = rule(node)
        if new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    return tree


def _unqualify_functions(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Dot) and isinstance(node.this, exp.Identifier | exp.Column):
        if node.this.name.lower() in ("pg_catalog", "information_schema") and isinstance(node.expression, exp.Func):
            func = node.expression
            if node.this.name.lower() == "information_schema" and isinstance(func, exp.Anonymous):
                func.meta["schema"] = "information_schema"
            return func
    if isinstance(node, exp.Column) and node.db and node.db.lower() == "pg_catalog":
        node.set("db", None)
    if isinstance(node, exp.Column) and node.table.lower() == "pg_catalog" and not node.db:
        name = node.name.lower()  # pg_catalog.current_user and friends, parsed as columns
        if name in ("current_user", "session_user", "user", "current_role", "current_schema", "current_catalog"):
            return exp.column(node.name)
    if isinstance(node, exp.Collate):
        return node.this
    return node


def _operators(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Operator):
        op = str(node.args.get("operator", "")).split(".")[-1].strip()
        left, right = node.this, node.expression
        if op == "~":
            return exp.RegexpLike(this=left, expression=right)
        if op == "~*":
            return exp.RegexpILike(this=left, expression=right)
        if op == "!~":
            return exp.not_(exp.RegexpLike(this=left, expression=right))
        if op == "!~*":
            return exp.not_(exp.RegexpILike(this=left, expression=right))
        if op in ("=", "<>", "<", ">", "<=", ">="):
            cls = {"=": exp.EQ, "<>": exp.NEQ, "<": exp.LT, ">": exp.GT, "<=": exp.LTE, ">=": exp.GTE}[op]
            return cls(this=left, expression=right)
        if op == "||":
            return exp.DPipe(this=left, expression=right)
    return node


def _like_escape(node: exp.Expression) -> exp.Expression:
    """LIKE's escape character is a backslash in Postgres unless ESCAPE says otherwise; DuckDB has none, so
    pgJDBC's ``attname LIKE '%\\_id'`` (a literal underscore) would match nothing."""
    if isinstance(node, exp.Like | exp.ILike) and not isinstance(node.parent, exp.Escape):
        return exp.Escape(this=node, expression=exp.Literal.string("\\"))
    return node


def _array_literal(text: str) -> exp.Array | None:
    """``'{a,b,"c d"}'`` (Postgres array input syntax, one dimension) as an array of string literals."""
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    body = text[1:-1]
    items: list[str] = []
    current, quoted, escaped = "", False, False
    for ch in body:
        if escaped:
            current, escaped = current + ch, False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            items.append(current)
            current = ""
        else:
            current += ch
    if body:
        items.append(current)
    return exp.Array(expressions=[exp.Literal.string(i) for i in items])


def _array_literals(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        to = node.to
        if isinstance(to, exp.DataType) and to.this == exp.DataType.Type.ARRAY and to.expressions:
            array = _array_literal(node.this.name)
            if array is not None:
                element = to.expressions[0]
                return exp.Array(expressions=[exp.cast(e, element.copy()) for e in array.expressions])
    if isinstance(node, exp.Any):  # x = ANY('{r,p,""}'), pgcli's relkind test (sqlglot keeps the parentheses)
        inner = node.this.this if isinstance(node.this, exp.Paren) else node.this
        if isinstance(inner, exp.Literal) and inner.is_string:
            array = _array_literal(inner.name)
            if array is not None:
                node.set("this", array)
    return node


def _all_any_calls(node: exp.Expression) -> exp.Expression:
    """``x <> ALL ('{a,b}')`` (parsed as a call named ALL) → ``NOT list_contains(['a', 'b'], x)``."""
    if node.name.upper() in ("ALL", "ANY") and len(node.expressions) == 1:
        arg = node.expressions[0]
        array = _array_literal(arg.name) if isinstance(arg, exp.Literal) and arg.is_string else None
        operand = array or arg
        parent = node.parent
        if node.name.upper() == "ALL" and isinstance(parent, exp.NEQ) and parent.expression is node:
            parent.replace(exp.not_(exp.func("list_contains", operand.copy(), parent.this.copy())))
            return node
        if array is not None:
            node.set("expressions", [array])
    return node


def _format(node: exp.Expression) -> exp.Expression:
    """Postgres ``format('%I.%s', …)`` → DuckDB ``printf('%s.%s', …)`` (identifiers are not re-quoted)."""
    pattern = node.this
    if isinstance(pattern, exp.Literal) and pattern.is_string:
        text = pattern.name.replace("%I", "%s").replace("%L", "'%s'")
        return exp.Anonymous(this="printf", expressions=[exp.Literal.string(text), *node.expressions])
    return node


def _expandarray_fields(node: exp.Expression) -> exp.Expression:
    """``(information_schema._pg_expandarray(a)).n`` → the n-th position; ``.x`` → the element (JDBC)."""
    inner = node.this.this if isinstance(node.this, exp.Paren) else None
    if isinstance(inner, exp.Dot) and isinstance(inner.expression, exp.Anonymous):
        inner = inner.expression
    if isinstance(inner, exp.Anonymous) and inner.name.lower() == "_pg_expandarray" and inner.expressions:
        arr = inner.expressions[0].copy()
        field = node.expression.name.lower()
        if field == "n":
            return exp.Explode(this=exp.GenerateSeries(start=exp.Literal.number(1), end=exp.func("len", arr)))
        if field == "x":
            return exp.Explode(this=arr)
    return node


def _vectors(node: exp.Expression) -> exp.Expression:
    # int2vector/oidvector subscripts are 0-based in Postgres; DuckDB lists are 1-based
    if isinstance(node, exp.Bracket) and isinstance(node.this, exp.Column) and len(node.expressions) == 1:
        from proxy.catalog.store import vector_columns

        if node.this.name.lower() in vector_columns() and not isinstance(node.expressions[0], exp.Slice):
            node.set("expressions", [exp.Add(this=node.expressions[0].copy(), expression=exp.Literal.number(1))])
    return node


def _reg_kind(to: exp.Expression) -> str | None:
    if isinstance(to, exp.ObjectIdentifier):
        return _REG_TYPES.get(str(to.this).upper(), "oid" if str(to.this).upper() == "OID" else None)
    if isinstance(to, exp.DataType) and to.this == exp.DataType.Type.USERDEFINED:
        kind = to.args.get("kind")
        name = (kind.name if isinstance(kind, exp.Dot | exp.Identifier) else str(kind or "")).upper()
        if isinstance(kind, exp.Dot):
            name = kind.expression.name.upper()
        if name == "OID":
            return "oid"
        if name in ("INT2VECTOR", "OIDVECTOR"):
            return "vector"
        return _REG_TYPES.get(name)
    return None


def _plain_type(node: exp.DataType) -> exp.DataType:
    """``pg_catalog.int2`` → ``int2``; name-like types → VARCHAR."""
    kind = node.args.get("kind")
    if _is_name_type(node):
        return exp.DataType.build("VARCHAR")
    if isinstance(kind, exp.Dot):
        try:
            return exp.DataType.build(kind.expression.name, dialect="postgres")
        except Exception:
            return node
    return node


def _is_name_type(to: exp.Expression) -> bool:
    if isinstance(to, exp.DataType):
        if to.this == exp.DataType.Type.USERDEFINED:
            kind = to.args.get("kind")
            name = kind.expression.name if isinstance(kind, exp.Dot) else (kind.name if isinstance(kind, exp.Expression) else str(kind))
            return name.upper() in _NAME_TYPES
        return getattr(to.this, "name", str(to.this)).upper() in _NAME_TYPES
    return False


def _casts(node: exp.Expression, target: Target) -> exp.Expression:
    if not isinstance(node, exp.Cast):
        if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.NAME:
            return exp.DataType.build("VARCHAR")  # psqlODBC's 'db'::name AS "PKTABLE_CAT": DuckDB has no name
        if (isinstance(node, exp.DataType) and node.this == exp.DataType.Type.USERDEFINED
                and not isinstance(node.parent, exp.Cast) and _reg_kind(node) is None):
            return _plain_type(node)
        return node
    to = node.to
    kind = _reg_kind(to)
    value = node.this
    if to.meta.get("reg_array") == "regtype" and not (isinstance(value, exp.Literal) or _is_literal_array(value)):
        return _call(target, "regtype_array_out", value)  # proargtypes::regtype[]: the types' names
    if kind is None:
        if _is_name_type(to) and isinstance(value, exp.Cast) and _reg_kind(value.to) not in (None, "oid", "vector"):
            return exp.cast(_reg_out(value, target), "VARCHAR")  # x::regclass::text
        if isinstance(to, exp.DataType) and to.this == exp.DataType.Type.USERDEFINED:
            return exp.cast(value, _plain_type(to))
        return node
    if kind == "oid":
        return exp.cast(value, "INTEGER")
    if kind == "vector":
        if isinstance(value, exp.Literal) and value.is_string:
            items = [exp.Literal.number(int(x)) for x in value.name.split()]
            return exp.Array(expressions=items)
        return value
    # a reg* type
    oid = _reg_in(node, kind, value, target)
    parent = node.parent
    if isinstance(parent, exp.Cast) and _is_name_type(parent.to):  # x::regclass::text → the name
        return _reg_out(exp.Cast(this=oid, to=node.to), target)
    return oid


def _is_literal_array(node: exp.Expression) -> bool:
    return isinstance(node, exp.Array) and all(isinstance(e, exp.Literal) for e in node.expressions)


def _reg_in(node: exp.Cast, kind: str, value: exp.Expression, target: Target) -> exp.Expression:
    """The OID a ``value::reg*`` cast denotes (or, for an OID shown as is, its name)."""
    if isinstance(value, exp.Literal) and value.is_string:
        oid = target.lookup(kind, value.name)
        if oid is None:
            if value.name.isdigit():
                return exp.Literal.number(int(value.name))
            what = {"regclass": "relation", "regtype": "type", "regnamespace": "schema", "regproc": "function",
                    "regrole": "role"}.get(kind, kind)
            raise SqlError(f'{what} "{value.name}" does not exist', sqlstate="42P01" if kind == "regclass" else "42704")
        return exp.Literal.number(oid)
    if isinstance(value, exp.Placeholder | exp.Parameter | exp.DPipe | exp.Concat | exp.Format) or (
        isinstance(value, exp.Cast) and _is_name_type(value.to)
    ) or (isinstance(value, exp.Anonymous) and value.name.lower() in ("printf", "quote_ident", "concat", "format")):
        macro = {"regclass": "to_regclass", "regtype": "to_regtype", "regnamespace": "to_regnamespace",
                 "regproc": "to_regproc", "regrole": "to_regrole"}.get(kind)
        if macro:
            return _call(target, macro, exp.cast(value, "VARCHAR"))
        return value
    parent = node.parent
    compared = isinstance(parent, exp.EQ | exp.NEQ | exp.In | exp.LT | exp.GT | exp.Any | exp.Binary) and not isinstance(
        parent, exp.DPipe
    )
    if compared or isinstance(parent, exp.Cast):
        return exp.cast(value, "INTEGER") if not isinstance(value, exp.Literal) else value
    return _reg_out(node, target)


def _reg_out(cast: exp.Cast, target: Target) -> exp.Expression:
    kind = _reg_kind(cast.to) or "regclass"
    macro = {"regclass": "regclass_out", "regtype": "regtype_out", "regnamespace": "regnamespace_out",
             "regproc": "regproc_out", "regrole": "regrole_out"}.get(kind)
    value = cast.this
    if macro is None:
        return exp.cast(value, "VARCHAR")
    return _call(target, macro, value)


def _call(target: Target, name: str, *args: exp.Expression, schema: str | None = None) -> exp.Expression:
    func = exp.Anonymous(this=name, expressions=list(args))
    func.meta["qualified"] = True
    return exp.Dot(this=exp.to_identifier(schema or target.pg), expression=func)


def _functions(node: exp.Expression, target: Target) -> exp.Expression:
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if node.meta.get("qualified"):  # made here, not by the client
            return node
        if name in SESSION_FUNCTIONS:  # not evaluated by the session; the router refused non-Postgres names
            raise InsufficientPrivilege(f"permission denied for function {node.name}")
        if name in _MACROS or name in ("regclass_out",):
            return _call(target, name, *node.expressions)
        if name == "pg_postmaster_start_time" or name == "pg_conf_load_time":
            return exp.cast(exp.Literal.string(target.started_at), "TIMESTAMPTZ")
        if name == "_pg_expandarray" and not isinstance(node.parent, exp.Table) and node.expressions:
            return exp.Explode(this=_call(target, "_pg_expandarray_list", *node.expressions, schema=target.info))
        if name == "pg_partition_ancestors" and not isinstance(node.parent, exp.Table) and node.expressions:
            return exp.cast(node.expressions[0], "INTEGER")
        if name == "json_build_object":  # NULL keys are an error in DuckDB (and unlikely meant): ''
            args = [exp.func("coalesce", exp.cast(a, "VARCHAR"), exp.Literal.string("")) if i % 2 == 0 else a
                    for i, a in enumerate(node.expressions)]
            return exp.Anonymous(this="json_object", expressions=args)
        if name == "generate_subscripts" and node.expressions:
            arr = node.expressions[0]
            start = 0 if isinstance(arr, exp.Column) and arr.name.lower() in target.vector_columns else 1
            return exp.Explode(this=exp.GenerateSeries(
                start=exp.Literal.number(start),
                end=exp.Sub(this=exp.func("len", arr.copy()), expression=exp.Literal.number(1 - start))))
    return node


def _tables(node: exp.Expression, target: Target, ctes: set[str]) -> exp.Expression:
    if not isinstance(node, exp.Table):
        return node
    this = node.this
    if isinstance(this, exp.Anonymous | exp.Dot):  # table functions
        func = this.expression if isinstance(this, exp.Dot) else this
        name = func.name.lower() if isinstance(func, exp.Func) else ""
        node.set("db", None)
        node.set("catalog", None)
        if name in _TABLE_FUNCTIONS:
            schema = target.info if _TABLE_FUNCTIONS[name] == "information_schema" else target.pg
            if name in ("pg_get_keywords", "pg_timezone_names", "pg_timezone_abbrevs"):
                node.set("this", exp.to_identifier(name))
                node.set("db", exp.to_identifier(schema))
                return node
            node.set("this", _call(target, name, *func.expressions, schema=schema))
            if name == "pg_partition_ancestors":
                node.set("ordinality", None)  # the macro returns (relid, depth) itself
            return node
        if isinstance(func, exp.Anonymous) and func.meta.get("qualified"):
            return node
        if name in ("generate_series", "unnest", "generate_subscripts", "regexp_split_to_table", "json_each"):
            return node
        raise SqlError(f"function {func.sql('postgres') if isinstance(func, exp.Expression) else name} does not exist",
                       sqlstate="42883")
    if not isinstance(this, exp.Identifier):
        if node.db.lower() == "pg_catalog":
            node.set("db", None)
        return node
    name, schema = node.name.lower(), node.db.lower()
    if node.catalog and node.args["catalog"].name.lower() not in ("",):
        pass  # database-qualified names: only the current database exists, Postgres checks the name
    if not schema and name in ctes:
        return node
    if node.db and node.db in (target.pg, target.info):
        return node
    if schema in ("", "pg_catalog") and f"pg_catalog.{name}" in target.relations:
        if name in SESSION_RELATIONS:
            return _session_relation(node, name, target)
        return _qualified(node, target.pg)
    if schema == "information_schema" and f"information_schema.{name}" in target.relations:
        return _qualified(node, target.info)
    shown = f"{node.db}.{node.name}" if node.db else node.name
    raise UndefinedTable(shown)


def _qualified(node: exp.Table, schema: str) -> exp.Table:
    node.set("db", exp.to_identifier(schema))
    node.set("catalog", None)
    if not node.alias:
        node.set("alias", exp.TableAlias(this=exp.to_identifier(node.name)))
    return node


def _session_relation(node: exp.Table, name: str, target: Target) -> exp.Expression:
    columns, rows = target.session_rows(name)
    base = exp.select(*columns).from_(exp.table_(name, db=target.pg))
    query: exp.Query = base
    if rows:
        values = exp.values([tuple(_literal(v) for v in row) for row in rows], alias="v", columns=columns)
        query = exp.union(base, exp.select(*columns).from_(values), distinct=False)
    alias = node.alias or node.name
    return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _literal(value: object) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return exp.Array(expressions=[_literal(v) for v in value])
    return exp.Literal.string(str(value))
