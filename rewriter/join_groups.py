"""Join groups: parenthesized and nested joins in a FROM clause, flattened into one join list.

The join planner (``rewriter.joins``) works on a flat list of entities, each joined to the ones before it.
Postgres also accepts ``a JOIN (b JOIN c ON p) ON q`` and ``a JOIN b JOIN c ON p ON q``; sqlglot keeps such
a group's inner joins on the group's first table. For inner and cross joins the flat list is exact (join
order does not change an inner join's rows); anything else is refused with 0A000, never answered wrong.
"""

from __future__ import annotations

from sqlglot import exp

from rewriter.errors import SqlError


def flatten_join_groups(select: exp.Select) -> None:
    """Rewrite parenthesized or nested join groups in ``select``'s FROM into one flat join list.

    ``a JOIN (b JOIN c ON p) ON q`` and ``a JOIN b JOIN c ON p ON q`` (sqlglot keeps the inner joins on the
    group's first table) become ``a JOIN b … JOIN c ON p …``. For inner and cross joins this is exact:
    join order does not change an inner join's rows, and each conjunct of ``q`` moves to the join of the
    last table it names, where every table it needs is in scope, so a declared relationship written as the
    group's ON stays a relationship edge. A group under an outer join (or holding one, joined to the rest
    by anything but an inner join) has no flat equivalent: refused with 0A000 rather than answered wrong.
    """
    from_ = select.args.get("from_")
    if from_ is None:
        return
    items = _group_items(from_.this)
    head, head_joins = items if items is not None else (from_.this, [])
    flat: list[exp.Join] = list(head_joins)
    changed = items is not None
    for join in select.args.get("joins") or []:
        group = _group_items(join.this)
        if group is None:
            flat.append(join)
            continue
        changed = True
        first, inner = group
        if not _inner(join) or not all(_inner(j) for j in inner):
            raise _unsupported_group()
        flat.append(exp.Join(this=first, kind=join.args.get("kind") if join.args.get("kind") == "CROSS" else None))
        flat.extend(inner)
        on = join.args.get("on")
        if on is not None:
            _distribute(on, flat, len(flat) - len(inner) - 1)
        elif join.args.get("using"):
            raise _unsupported_group()
    if changed:
        from_.set("this", head)
        select.set("joins", flat)


def _group_items(source: exp.Expression) -> tuple[exp.Expression, list[exp.Join]] | None:
    """(first table, its joins) when ``source`` is a join group, flattened recursively; else None."""
    node = source
    parenthesized = False
    while isinstance(node, exp.Subquery | exp.Paren) and not node.args.get("alias") and isinstance(
        node.this, exp.Table | exp.Subquery | exp.Paren
    ):
        node, parenthesized = node.this, True
    if isinstance(source, exp.Subquery) and source.args.get("alias") and isinstance(source.this, exp.Table):
        if source.this.args.get("joins"):  # `(b JOIN c ON …) AS x`: the group's columns renamed, not a table
            raise _unsupported_group("an aliased join group")
    if not isinstance(node, exp.Table):
        return None
    joins = node.args.get("joins") or []
    if not joins and not parenthesized:
        return None
    head = node.copy()
    head.set("joins", None)
    flat: list[exp.Join] = []
    for join in joins:
        group = _group_items(join.this)
        if group is None:
            flat.append(join.copy())
            continue
        if not _inner(join):
            raise _unsupported_group()
        first, inner = group
        if not all(_inner(j) for j in inner):
            raise _unsupported_group()
        flat.append(exp.Join(this=first))
        flat.extend(inner)
        on = join.args.get("on")
        if on is not None:
            _distribute(on.copy(), flat, len(flat) - len(inner) - 1)
    return head, flat


def _inner(join: exp.Join) -> bool:
    return not join.args.get("side") and (join.args.get("kind") or "INNER").upper() in ("INNER", "CROSS", "")


def _distribute(on: exp.Expression, flat: list[exp.Join], group_start: int) -> None:
    """AND each conjunct of ``on`` into the join of the last table it names (at or after ``group_start``,
    the group's first join), so it is evaluated where every table it needs is in scope."""
    names = [_source_name(j.this) for j in flat]
    for conjunct in _conjuncts(on):
        tables = {c.table.lower() for c in conjunct.find_all(exp.Column) if c.table}
        unqualified = any(not c.table for c in conjunct.find_all(exp.Column))
        position = len(flat) - 1 if unqualified else group_start
        for i in range(group_start, len(flat)):
            if names[i] in tables:
                position = max(position, i)
        target = flat[position]
        existing = target.args.get("on")
        target.set("on", conjunct.copy() if existing is None else exp.and_(existing, conjunct.copy()))
        if target.args.get("kind") == "CROSS":
            target.set("kind", None)


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]


def _source_name(source: exp.Expression) -> str:
    return source.alias_or_name.lower() if isinstance(source, exp.Table | exp.Subquery) else ""


def _unsupported_group(what: str = "a parenthesized join group joined with an outer join") -> SqlError:
    return SqlError(
        f"{what} is not supported between lens entities",
        sqlstate="0A000",
        hint="write the joins as one flat list: FROM a JOIN b ON … LEFT JOIN c ON …",
    )
