"""Wire types of catalog results that DuckDB cannot express: ``int2vector`` and ``oidvector`` columns.

The catalog database stores ``pg_index.indkey``, ``pg_proc.proargtypes`` … as DuckDB lists, which would go
out as ``int2[]``/``oid[]`` (``{1,2}``). PostgreSQL sends them as their own types (OIDs 22 and 30, text
``1 2``), and clients parse that text: psqlODBC's SQLStatistics reads ``indkey`` by splitting on spaces and
crashes the client process on ``{1}``. A result column that is such a catalog column, selected as it is
(``i.indkey``, ``indkey AS k``, ``*``), is retyped as ``proxy.wire.types.VectorType``; anything computed from
it (``indkey[0]``, ``indkey::int2[]``, ``array_to_string(indkey, ' ')``) keeps the type it has.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
from sqlglot import exp

from proxy.wire import types as pgtypes


def vector_positions(tree: exp.Expression, schema: pa.Schema, vectors: dict[str, str]) -> dict[int, str]:
    """Result column index -> ``int2vector``/``oidvector`` for the columns of ``tree`` that are vectors."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if isinstance(select, exp.Subquery):
        select = select.unnest()
    if not isinstance(select, exp.Select):
        return {}
    out: dict[int, str] = {}
    stars = any(isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))
                for p in select.expressions)
    if stars:  # positions are not those of the select list: match by name (catalog column names are unique)
        candidates = {i: vectors.get(f.name) for i, f in enumerate(schema)}
    else:
        candidates = {i: _vector_name(p, vectors) for i, p in enumerate(select.expressions)}
    for i, pg_name in candidates.items():
        if pg_name and i < len(schema) and pa.types.is_list(schema.field(i).type):
            out[i] = pg_name
    return out


def _vector_name(projection: exp.Expression, vectors: dict[str, str]) -> str | None:
    node = projection.this if isinstance(projection, exp.Alias) else projection
    if isinstance(node, exp.Column) and isinstance(node.this, exp.Identifier):
        return vectors.get(node.name.lower())
    return None


def with_vectors(reader: pa.RecordBatchReader, positions: dict[int, str]) -> pa.RecordBatchReader:
    """``reader`` with the columns at ``positions`` retyped as Postgres vectors (no data is copied)."""
    if not positions:
        return reader
    schema = reader.schema
    fields = [f.with_type(pgtypes.VectorType(positions[i], f.type)) if i in positions else f
              for i, f in enumerate(schema)]
    target = pa.schema(fields, metadata=schema.metadata)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            columns = [pgtypes.as_vector(c, positions[i]) if i in positions else c
                       for i, c in enumerate(batch.columns)]
            yield pa.RecordBatch.from_arrays(columns, schema=target)

    return pa.RecordBatchReader.from_batches(target, batches())


def conform(reader: pa.RecordBatchReader, schema: pa.Schema) -> pa.RecordBatchReader:
    """``reader``'s batches with the types of ``schema`` where ``schema`` gives a column an extension type
    over the same storage (a record), no data copied; ``reader`` itself when nothing changes."""
    changed = {i: f.type for i, f in enumerate(schema)
               if isinstance(f.type, pa.ExtensionType) and f.type.storage_type == reader.schema.field(i).type}
    if not changed:
        return reader

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            columns = [pa.ExtensionArray.from_storage(changed[i], c) if i in changed else c
                       for i, c in enumerate(batch.columns)]
            yield pa.RecordBatch.from_arrays(columns, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())
