"""What the query path asks of a statement's tree (its parameters, session hooks, per-session reads), found
in one walk and kept per tree, so a prepared statement is walked once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from proxy.errors import SqlError
from proxy.pgtypes_sql import param_number
from proxy.router import Statement


@dataclass(frozen=True, slots=True)
class StatementFacts:
    """What the query path asks of a statement's tree, found in one walk (a prepared statement's once)."""

    max_param: int  # the highest $n
    bad_param: SqlError | None  # $0 or past what Bind can carry (42P02)
    set_config: bool  # calls set_config() (a session hook)
    session_values: bool  # reads per-session values (never shared through a cache)


_FACTS: dict[int, tuple[exp.Expression, StatementFacts]] = {}


def statement_facts(ast: exp.Expression) -> StatementFacts:
    hit = _FACTS.get(id(ast))
    if hit is not None and hit[0] is ast:
        return hit[1]
    max_param, bad, set_config, session = 0, None, False, False
    for node in ast.walk():
        if isinstance(node, exp.Parameter | exp.Placeholder):
            number = param_number(node)
            if number is not None:
                max_param = max(max_param, number)
                if bad is None and not 1 <= number <= _MAX_PARAMETERS:
                    start = node.meta.get("start")
                    bad = SqlError(f"there is no parameter ${number}", sqlstate="42P02",
                                   position=None if start is None else start + 1)
        elif isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name == "set_config":
                set_config = session = True
            elif name in ("pg_backend_pid", "current_setting"):
                session = True
    facts = StatementFacts(max_param, bad, set_config, session)
    if len(_FACTS) > 4096:
        _FACTS.clear()
    _FACTS[id(ast)] = (ast, facts)
    return facts


_MAX_PARAMETERS = 65535  # the protocol counts parameters in an int16


def check_parameter_numbers(statement: Statement) -> None:
    """``$0`` (or a number past what Bind can carry) is 42P02, as PostgreSQL answers at Parse."""
    if statement.ast is None:
        return
    for node in statement.ast.find_all(exp.Parameter, exp.Placeholder):
        number = param_number(node)
        if number is not None and not 1 <= number <= _MAX_PARAMETERS:
            start = node.meta.get("start")
            position = None if start is None else start + 1  # query-relative, as rewriter errors are
            raise SqlError(f"there is no parameter ${number}", sqlstate="42P02", position=position)
