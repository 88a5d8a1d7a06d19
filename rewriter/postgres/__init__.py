"""PostgreSQL semantics, made explicit in the backend-neutral AST (one module per concern).

``prepare`` runs on the client's query before lens tables are rewritten: identifiers fold to lower case
(``names``), every expression is typed as PostgreSQL would type it (``types``), queries PostgreSQL refuses are
refused with its SQLSTATE (``errors``), and the type-dependent rules rewrite or annotate nodes
(``arithmetic``, ``functions``). ``finish`` runs on the rewritten tree: NULL ordering made explicit
(``ordering``). What an engine needs beyond the neutral AST (a function it lacks, a cast it spells
otherwise) is its renderer's business (``rewriter.render``), guided by the ``meta`` these rules leave.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from rewriter.bottom_up import bottom_up
from rewriter.postgres import arithmetic, coercion, functions
from rewriter.postgres.display_scale import mark_values_scales
from rewriter.postgres.errors import check_errors
from rewriter.postgres.names import check_quoted_names, fold_identifiers, values_column_names
from rewriter.postgres.ordering import explicit_null_ordering
from rewriter.postgres.result_types import result_types
from rewriter.postgres.types import EntityTypes, annotate

__all__ = ["EntityTypes", "RULES", "finish", "fold_identifiers", "keep_type", "prepare", "result_types"]

# Node rules, applied bottom-up (children first) to the typed client query.
RULES: tuple[Callable[[exp.Expression], exp.Expression], ...] = (
    coercion.unknown_literals,
    arithmetic.integer_division,
    arithmetic.numeric_division,
    arithmetic.float_division,
    arithmetic.numeric_integer_division,
    arithmetic.aggregate_types,
    arithmetic.numeric_casts,
    arithmetic.exponent_literals,
    functions.int4_results,
    functions.float_results,
    functions.int4_series,
    functions.numeric_functions,
    functions.date_trunc_of_date,
    functions.timestamptz_results,
    functions.numeric_powers,
    functions.numeric_transcendental,
    functions.float_marks,
)


def prepare(tree: exp.Expression, schema: EntityTypes | None = None) -> exp.Expression:
    """Type the client's query, refuse what PostgreSQL refuses, apply the rules (in place where possible)."""
    check_quoted_names(tree, schema or {})
    for values in list(tree.find_all(exp.Values)):
        values_column_names(values)
    annotate(tree, schema)

    def apply(node: exp.Expression) -> exp.Expression:
        for rule in RULES:
            node = rule(node)
        return node

    tree = bottom_up(tree, apply)
    check_errors(tree)
    mark_values_scales(tree)
    return tree

def keep_type(new: exp.Expression, old: exp.Expression) -> exp.Expression:
    """``new`` (what the rewriter puts in place of the client's ``old``: a member's expression, a measure's
    aggregate) keeps ``old``'s PostgreSQL type, for the renderer's emulations (numeric scales)."""
    if new.type is None or new.is_type(exp.DataType.Type.UNKNOWN):
        new.type = old.type
    return new


def finish(tree: exp.Expression) -> exp.Expression:
    """Rules for the rewritten tree (the planner's own nodes included)."""
    return explicit_null_ordering(tree)
