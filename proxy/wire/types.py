"""PostgreSQL type OIDs and the Arrow -> PostgreSQL type mapping.

OIDs, names, ``typlen`` and array OIDs are those of PostgreSQL's ``src/include/catalog/pg_type.dat``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.types as pat

from proxy.wire.messages import TEXT_FORMAT, FieldDescription

__all__ = [
    "PgType",
    "BY_OID",
    "BY_NAME",
    "array_type",
    "pg_type_for_arrow",
    "field_description",
    "declared_type",
    "type_modifier_for_arrow",
    "VectorType",
    "as_vector",
    "RecordType",
    "as_record",
]


@dataclass(frozen=True, slots=True)
class PgType:
    """A row of ``pg_type``: ``typlen`` is -1 for varlena, -2 for C strings; ``array_oid`` 0 when the
    type has no array type (or is itself an array)."""

    oid: int
    name: str
    typlen: int
    array_oid: int = 0
    element_oid: int = 0  # for array types: the element type's OID

    @property
    def is_array(self) -> bool:
        return self.element_oid != 0


# fmt: off
BOOL        = PgType(16,   "bool",        1,  1000)
BYTEA       = PgType(17,   "bytea",       -1, 1001)
CHAR        = PgType(18,   "char",        1,  1002)
NAME        = PgType(19,   "name",        64, 1003)
INT8        = PgType(20,   "int8",        8,  1016)
INT2        = PgType(21,   "int2",        2,  1005)
INT4        = PgType(23,   "int4",        4,  1007)
TEXT        = PgType(25,   "text",        -1, 1009)
OID         = PgType(26,   "oid",         4,  1028)
JSON        = PgType(114,  "json",        -1, 199)
FLOAT4      = PgType(700,  "float4",      4,  1021)
FLOAT8      = PgType(701,  "float8",      8,  1022)
UNKNOWN     = PgType(705,  "unknown",     -2, 0)
BPCHAR      = PgType(1042, "bpchar",      -1, 1014)
VARCHAR     = PgType(1043, "varchar",     -1, 1015)
DATE        = PgType(1082, "date",        4,  1182)
TIME        = PgType(1083, "time",        8,  1183)
TIMESTAMP   = PgType(1114, "timestamp",   8,  1115)
TIMESTAMPTZ = PgType(1184, "timestamptz", 8,  1185)
INTERVAL    = PgType(1186, "interval",    16, 1187)
NUMERIC     = PgType(1700, "numeric",     -1, 1231)
UUID        = PgType(2950, "uuid",        16, 2951)
JSONB       = PgType(3802, "jsonb",       -1, 3807)
# fmt: on

SCALAR_TYPES: tuple[PgType, ...] = (
    BOOL, BYTEA, CHAR, NAME, INT8, INT2, INT4, TEXT, OID, JSON, FLOAT4, FLOAT8, UNKNOWN, BPCHAR,
    VARCHAR, DATE, TIME, TIMESTAMP, TIMESTAMPTZ, INTERVAL, NUMERIC, UUID, JSONB,
)  # fmt: skip


def _array_of(t: PgType) -> PgType:
    return PgType(t.array_oid, "_" + t.name, -1, 0, t.oid)


BOOL_ARRAY = _array_of(BOOL)  # 1000
BYTEA_ARRAY = _array_of(BYTEA)  # 1001
CHAR_ARRAY = _array_of(CHAR)  # 1002
NAME_ARRAY = _array_of(NAME)  # 1003
INT8_ARRAY = _array_of(INT8)  # 1016
INT2_ARRAY = _array_of(INT2)  # 1005
INT4_ARRAY = _array_of(INT4)  # 1007
TEXT_ARRAY = _array_of(TEXT)  # 1009
OID_ARRAY = _array_of(OID)  # 1028
JSON_ARRAY = _array_of(JSON)  # 199
FLOAT4_ARRAY = _array_of(FLOAT4)  # 1021
FLOAT8_ARRAY = _array_of(FLOAT8)  # 1022
BPCHAR_ARRAY = _array_of(BPCHAR)  # 1014
VARCHAR_ARRAY = _array_of(VARCHAR)  # 1015
DATE_ARRAY = _array_of(DATE)  # 1182
TIME_ARRAY = _array_of(TIME)  # 1183
TIMESTAMP_ARRAY = _array_of(TIMESTAMP)  # 1115
TIMESTAMPTZ_ARRAY = _array_of(TIMESTAMPTZ)  # 1185
INTERVAL_ARRAY = _array_of(INTERVAL)  # 1187
NUMERIC_ARRAY = _array_of(NUMERIC)  # 1231
UUID_ARRAY = _array_of(UUID)  # 2951
JSONB_ARRAY = _array_of(JSONB)  # 3807

ARRAY_TYPES: tuple[PgType, ...] = tuple(_array_of(t) for t in SCALAR_TYPES if t.array_oid)

BY_OID: dict[int, PgType] = {t.oid: t for t in (*SCALAR_TYPES, *ARRAY_TYPES)}

# The catalog's 0-based vectors (pg_index.indkey, pg_proc.proargtypes …): one-dimensional arrays whose text
# form is the elements separated by spaces (``1 2``), sent with their own OIDs. psqlODBC parses indkey as
# that text; ``{1,2}`` (int2[]) crashes its SQLStatistics. Not in BY_OID: clients never bind them.
INT2VECTOR = PgType(22, "int2vector", -1, 1006, 21)
OIDVECTOR = PgType(30, "oidvector", -1, 1013, 26)
VECTORS: dict[str, PgType] = {"int2vector": INT2VECTOR, "oidvector": OIDVECTOR}
# An anonymous row (``SELECT c FROM customer c``, a whole-row reference): text ``(v1,"v 2",)``.
RECORD = PgType(2249, "record", -1, 2287)
BY_NAME: dict[str, PgType] = {t.name: t for t in (*SCALAR_TYPES, *ARRAY_TYPES)}


def array_type(element: PgType) -> PgType:
    """The array type whose elements are ``element`` (``_text`` when there is none)."""
    if element.array_oid:
        return BY_OID[element.array_oid]
    if element.is_array:  # PG arrays of arrays are the same type (multi-dimensional)
        return element
    return TEXT_ARRAY


def _is_uuid(t: pa.DataType) -> bool:
    if isinstance(t, pa.BaseExtensionType):
        return getattr(t, "extension_name", "") == "arrow.uuid"
    return False


# DuckDB (with arrow_lossless_conversion) ships 128-bit integers as opaque 16-byte values.
DUCKDB_OPAQUE_INTEGERS = frozenset({"hugeint", "uhugeint"})


def _opaque_name(t: pa.DataType) -> str | None:
    if isinstance(t, pa.BaseExtensionType) and getattr(t, "extension_name", "") == "arrow.opaque":
        return t.type_name
    return None


class VectorType(pa.ExtensionType):
    """An Arrow list column that is a Postgres ``int2vector`` or ``oidvector`` (see ``INT2VECTOR``): the
    catalog marks such result columns so every encoder (text, binary, COPY) and RowDescription see it."""

    def __init__(self, pg_name: str, storage: pa.DataType) -> None:
        self.pg_name = pg_name
        super().__init__(storage, f"lens_proxy.{pg_name}")

    def __arrow_ext_serialize__(self) -> bytes:
        return self.pg_name.encode()

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> VectorType:
        return cls(serialized.decode(), storage_type)

    @property
    def pg_type(self) -> PgType:
        return VECTORS[self.pg_name]


for _name, _storage in (("int2vector", pa.list_(pa.int16())), ("oidvector", pa.list_(pa.uint32()))):
    try:
        pa.register_extension_type(VectorType(_name, _storage))
    except pa.ArrowKeyError:  # already registered (module reloaded)
        pass


class RecordType(pa.ExtensionType):
    """An Arrow struct column that is a Postgres row (``record``), not JSON: its fields are the columns."""

    def __init__(self, storage: pa.DataType) -> None:
        super().__init__(storage, "lens_proxy.record")

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> RecordType:
        return cls(storage_type)


try:
    pa.register_extension_type(RecordType(pa.struct([])))
except pa.ArrowKeyError:  # already registered (module reloaded)
    pass


def as_record(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``arr`` (a struct column) typed as a Postgres record."""
    record = RecordType(arr.type)
    if isinstance(arr, pa.ChunkedArray):
        return pa.chunked_array([pa.ExtensionArray.from_storage(record, c) for c in arr.chunks], record)
    return pa.ExtensionArray.from_storage(record, arr)


def as_vector(arr: pa.Array | pa.ChunkedArray, pg_name: str) -> pa.Array | pa.ChunkedArray:
    """``arr`` (a list column) typed as the Postgres vector ``pg_name`` (int2vector / oidvector)."""
    vector = VectorType(pg_name, arr.type)
    if isinstance(arr, pa.ChunkedArray):
        return pa.chunked_array([pa.ExtensionArray.from_storage(vector, c) for c in arr.chunks], vector)
    return pa.ExtensionArray.from_storage(vector, arr)


def pg_type_for_arrow(t: pa.DataType) -> PgType:
    """The PostgreSQL type a column of Arrow type ``t`` is reported (and text-encoded) as."""
    if isinstance(t, VectorType):
        return t.pg_type
    if isinstance(t, RecordType):
        return RECORD
    if pat.is_dictionary(t):
        return pg_type_for_arrow(t.value_type)
    if pat.is_run_end_encoded(t):
        return pg_type_for_arrow(t.value_type)
    if _is_uuid(t):
        return UUID
    opaque = _opaque_name(t)
    if opaque is not None:
        return NUMERIC if opaque in DUCKDB_OPAQUE_INTEGERS else BYTEA
    if isinstance(t, pa.BaseExtensionType):
        return pg_type_for_arrow(t.storage_type)
    if pat.is_boolean(t):
        return BOOL
    if pat.is_int8(t) or pat.is_int16(t) or pat.is_uint8(t):
        return INT2
    if pat.is_int32(t) or pat.is_uint16(t):
        return INT4
    if pat.is_uint32(t):
        # Postgres's oid is an unsigned 32-bit integer: the catalog stores oid/regclass/regtype columns as
        # UINTEGER so clients (asyncpg's type introspection) see oid and oid[] (26/1028), not int4/int4[]
        return OID
    if pat.is_int64(t):
        return INT8
    if pat.is_uint64(t):
        return NUMERIC
    if pat.is_float16(t) or pat.is_float32(t):
        return FLOAT4
    if pat.is_float64(t):
        return FLOAT8
    if pat.is_decimal(t):
        return NUMERIC
    if pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t):
        return TEXT
    if pat.is_binary(t) or pat.is_large_binary(t) or pat.is_binary_view(t):
        return BYTEA
    if pat.is_fixed_size_binary(t):
        return UUID if t.byte_width == 16 else BYTEA
    if pat.is_date(t):
        return DATE
    if pat.is_time(t):
        return TIME
    if pat.is_timestamp(t):
        return TIMESTAMPTZ if t.tz is not None else TIMESTAMP
    if pat.is_duration(t) or pat.is_interval(t):
        return INTERVAL
    if pat.is_list(t) or pat.is_large_list(t) or pat.is_fixed_size_list(t) or _is_list_view(t):
        element = pg_type_for_arrow(t.value_type)
        if element is UNKNOWN:
            return TEXT_ARRAY
        return array_type(element)
    if pat.is_null(t):
        return TEXT
    if pat.is_struct(t) or pat.is_map(t):
        return JSON
    return TEXT


def _is_list_view(t: pa.DataType) -> bool:
    return pat.is_list_view(t) or pat.is_large_list_view(t)


_VARHDRSZ = 4
_NUMERIC_MAX_PRECISION = 1000


def type_modifier_for_arrow(t: pa.DataType) -> int:
    """The ``atttypmod`` PostgreSQL would report: ``numeric(p,s)`` for decimals, else -1."""
    if pat.is_dictionary(t):
        return type_modifier_for_arrow(t.value_type)
    if pat.is_decimal(t) and 0 <= t.scale <= t.precision <= _NUMERIC_MAX_PRECISION:
        return ((t.precision << 16) | t.scale) + _VARHDRSZ
    return -1


# Arrow field metadata naming the table column a result column is (``proxy.catalog.origins``).
TABLE_OID_KEY, ATTNUM_KEY = b"pg_table_oid", b"pg_attnum"
# Field metadata of a result column whose values are the text form of a type Arrow has no name for (varchar,
# bpchar, name, json, jsonb, uuid, numeric with a display scale per value): the rewriter declares PostgreSQL's
# type of the column and the engine computes the type's text, carried as an Arrow string
# (``proxy.result_types``).
DECLARED_TYPE = b"pg_type"
DECLARED_TYPMOD = b"pg_typmod"


def declared_type(field: pa.Field) -> tuple[PgType, int] | None:
    """The (type, typmod) a string column declares in its metadata, if any."""
    return _declared(field.type, field.metadata)


def _declared(t: pa.DataType, metadata: dict[bytes, bytes] | None) -> tuple[PgType, int] | None:
    if not metadata or DECLARED_TYPE not in metadata:
        return None
    if not (pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t)):
        return None
    pg = BY_NAME.get(metadata[DECLARED_TYPE].decode())
    return None if pg is None else (pg, int(metadata.get(DECLARED_TYPMOD, b"-1")))


def field_description(name: str, t: pa.DataType, format: int = TEXT_FORMAT,
                      metadata: dict[bytes, bytes] | None = None) -> FieldDescription:
    """The RowDescription field for a result column ``name`` of Arrow type ``t``; ``metadata`` (the Arrow
    field's) may name the table and column it comes from, and the type a text column carries."""
    declared = _declared(t, metadata)
    if declared is not None:
        pg, typmod = declared
        return FieldDescription(name=name, type_oid=pg.oid, type_size=pg.typlen, type_modifier=typmod, format=format)
    pg = pg_type_for_arrow(t)
    table_oid = int(metadata.get(TABLE_OID_KEY, 0)) if metadata else 0
    return FieldDescription(
        name=name,
        table_oid=table_oid,
        column_attnum=int(metadata.get(ATTNUM_KEY, 0)) if table_oid and metadata else 0,
        type_oid=pg.oid,
        type_size=pg.typlen,
        type_modifier=type_modifier_for_arrow(t),
        format=format,
    )
