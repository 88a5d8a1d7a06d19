"""Result column types beyond what the engine's Arrow schema can say.

The rewriter knows PostgreSQL's type of each result column (``rewriter.postgres.result_types``); an engine
returns varchar, bpchar, name, json, jsonb, uuid — and numeric values whose display scale differs per row —
as Arrow strings holding the type's text output. The declared types go into the schema's field metadata
(``proxy.wire.types.DECLARED_TYPE``), which RowDescription and the binary encoder honour; the batches
themselves are passed through untouched (zero-copy).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pyarrow as pa

from proxy.wire.types import DECLARED_TYPE, DECLARED_TYPMOD

Declared = Sequence["tuple[str, int] | None"]


def declare(schema: pa.Schema, declared: Declared) -> pa.Schema:
    """``schema`` with each declared column's type in its field metadata (unchanged when nothing applies)."""
    if not declared or len(declared) != len(schema):
        return schema
    fields = []
    changed = False
    for field, spec in zip(schema, declared, strict=True):
        if spec is not None and _is_text(field.type):
            name, typmod = spec
            field = field.with_metadata({DECLARED_TYPE: name.encode(), DECLARED_TYPMOD: str(typmod).encode()})
            changed = True
        fields.append(field)
    return pa.schema(fields, metadata=schema.metadata) if changed else schema


def declared_reader(reader: pa.RecordBatchReader, declared: Declared) -> pa.RecordBatchReader:
    """``reader`` whose schema and batches carry the declared types (the same reader when none apply)."""
    schema = declare(reader.schema, declared)
    if schema is reader.schema:
        return reader

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)
        finally:
            reader.close()

    return pa.RecordBatchReader.from_batches(schema, batches())


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
