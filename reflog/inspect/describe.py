"""Any decoded message, told two ways: a short line of the fields that matter, and JSON.

Nothing here knows a particular message: both walk the message's dataclass fields and the wire
types they are declared with (:func:`reflog.wire.schema.wire`), so a message added to
``reflog.wire`` shows up in the inspector without an edit here.

The line keeps a field when its name says it matters to a learner (offsets, error codes,
leaders and epochs, member, producer and transactional ids, sequences, hosts and ports...) and
its value is not the field's default (``log_start_offset=-1`` in every Fetch is noise). A list
of structs that carry a topic name or a partition number is shown by that name: ``t/p0``.
Record batches show their headers (count, offsets, producer id, epoch and base sequence),
never their bytes.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any, TypeVar, cast

from reflog.records.batch import iter_batches
from reflog.records.errors import CorruptRecordError
from reflog.records.file_slice import FileSlice
from reflog.wire.errors import ErrorCode
from reflog.wire.schema import BYTES, RECORDS, ArrayOf, FieldType, Struct, WireField, WireStruct

__all__ = ["address_bearing", "errors_in", "fields_of", "replaced", "summarize", "to_json"]

M = TypeVar("M", bound=WireStruct)

# A field is worth a place on the line when its name contains one of these.
_MATTERS = (
    "offset",
    "error_code",
    "member_id",
    "group_id",
    "generation",
    "producer_id",
    "producer_epoch",
    "sequence",
    "transactional_id",
    "leader",
    "epoch",
    "acks",
    "watermark",
    "node_id",
    "host",
    "port",
    "isr_nodes",
    "protocol",
    "coordinator",
    "key_type",
    "api_key",
    "max_version",
    "isolation_level",
    "allow_auto_topic_creation",
)
_ALWAYS = ("acks", "isolation_level")  # shown even at their defaults: acks=-1 is acks=all
_TOPIC_LABELS = ("name", "topic")
_PARTITION_LABELS = ("partition_index", "partition", "index")
MAX_ITEMS = 6  # list items shown on a line before "+N more"


def fields_of(obj: WireStruct | type[WireStruct]) -> tuple[dataclasses.Field[Any], ...]:
    """A message's dataclass fields (every WireStruct subclass is made a dataclass)."""
    return dataclasses.fields(cast(Any, obj))


def replaced(obj: M, **changes: Any) -> M:
    """``obj`` with some fields changed (``dataclasses.replace`` for a WireStruct)."""
    return cast(M, dataclasses.replace(cast(Any, obj), **changes))


def _wire_fields(obj: WireStruct) -> Iterator[tuple[dataclasses.Field[Any], WireField, Any]]:
    for f in fields_of(obj):
        wf = f.metadata.get("wire")
        if isinstance(wf, WireField):
            yield f, wf, getattr(obj, f.name)


# -- the one-line summary ------------------------------------------------------------------
def summarize(message: WireStruct) -> str:
    return " ".join(_struct_parts(message))


def _struct_parts(obj: WireStruct) -> list[str]:
    parts: list[str] = []
    labels = _label_fields(obj)
    for f, wf, value in _wire_fields(obj):
        if f.name in labels:
            continue
        if wf.type is RECORDS:
            parts.append(_records_text(value))
        elif _is_struct_list(value):
            parts.append(_list_text(f.name, value))
        elif _matters(f, value):
            parts.append(f"{f.name}={_scalar_text(f.name, value)}")
    return [p for p in parts if p]


def _label_fields(obj: WireStruct) -> set[str]:
    names = {f.name for f in fields_of(obj)}
    topic = next((n for n in _TOPIC_LABELS if n in names), None)
    partition = next((n for n in _PARTITION_LABELS if n in names), None)
    return {n for n in (topic, partition) if n is not None and _is_label(obj, n)}


def _is_label(obj: WireStruct, name: str) -> bool:
    value = getattr(obj, name)
    return isinstance(value, str) if name in _TOPIC_LABELS else isinstance(value, int)


def _label(obj: WireStruct) -> str:
    out = []
    for name in sorted(_label_fields(obj), key=lambda n: n in _PARTITION_LABELS):
        value = getattr(obj, name)
        out.append(value if isinstance(value, str) else f"p{value}")
    return "/".join(out)


def _list_text(name: str, items: list[WireStruct]) -> str:
    entries = [entry for item in items for entry in _entries(item)]
    shown = ", ".join(entries[:MAX_ITEMS])
    more = f" +{len(entries) - MAX_ITEMS} more" if len(entries) > MAX_ITEMS else ""
    return f"{name}=[{shown}{more}]"


def _entries(item: WireStruct) -> list[str]:
    """One list item as ``label:{fields}``; a topic whose only field is its list of partitions
    becomes one entry per partition, ``topic/p0:{fields}``."""
    label, parts = _label(item), _struct_parts(item)
    lists = [v for _, _, v in _wire_fields(item) if _is_struct_list(v)]
    if label and len(parts) == 1 and len(lists) == 1 and all(_label(x) for x in lists[0]):
        return [f"{label}/{entry}" for child in lists[0] for entry in _entries(child)]
    inner = " ".join(parts)
    return [f"{label}:{{{inner}}}" if label and inner else label or f"{{{inner}}}"]


def _is_struct_list(value: object) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], WireStruct)


def _matters(f: dataclasses.Field[Any], value: Any) -> bool:
    if not any(word in f.name for word in _MATTERS):
        return False
    if f.name.endswith("error_code"):
        return bool(value != ErrorCode.NONE)
    if f.name in _ALWAYS:
        return True
    # A field left at a "not set" default (-1, null, empty) says nothing; 0 is an offset.
    if f.default is not dataclasses.MISSING and _unset(f.default):
        return bool(value != f.default)
    if f.default_factory is not dataclasses.MISSING:
        return bool(value != f.default_factory())
    return True


def _unset(default: object) -> bool:
    if default is None or isinstance(default, bool) or default == "":
        return True
    return isinstance(default, int) and default < 0


def _scalar_text(name: str, value: Any) -> str:
    if name.endswith("error_code") and isinstance(value, int):
        return _error_name(value)
    if isinstance(value, list):
        shown = ",".join(str(v) for v in value[:MAX_ITEMS])
        return f"[{shown}{',…' if len(value) > MAX_ITEMS else ''}]"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    return str(value)


def _error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"error {code}"


def _records_text(value: object) -> str:
    batches = _batches(value)
    if batches is None:
        return "" if value is None else f"records=<{_size(value)} bytes, not batches>"
    if not batches:
        return ""
    count = sum(b["record_count"] for b in batches)
    first, last = batches[0], batches[-1]
    text = f"records={count} at {first['base_offset']}..{last['last_offset']}"
    if first["producer_id"] >= 0:
        text += (
            f" producer_id={first['producer_id']} producer_epoch={first['producer_epoch']}"
            f" base_sequence={first['base_sequence']}"
        )
    if len(batches) > 1:
        text += f" in {len(batches)} batches"
    return text


def _batches(value: object) -> list[dict[str, int]] | None:
    """The batch headers in a records field, or None when it is not a run of batches."""
    if value is None:
        return []
    data = value.read() if isinstance(value, FileSlice) else value
    if not isinstance(data, bytes | bytearray | memoryview):
        return None
    try:
        return [
            {
                "base_offset": b.base_offset,
                "last_offset": b.last_offset,
                "record_count": b.record_count,
                "partition_leader_epoch": b.partition_leader_epoch,
                "producer_id": b.producer_id,
                "producer_epoch": b.producer_epoch,
                "base_sequence": b.base_sequence,
                "attributes": b.attributes,
                "bytes": b.size_in_bytes,
            }
            for b in iter_batches(data)
        ]
    except CorruptRecordError:
        return None


def _size(value: object) -> int:
    if isinstance(value, FileSlice):
        return value.length
    return len(value) if isinstance(value, bytes | bytearray | memoryview) else 0


def errors_in(message: WireStruct) -> list[str]:
    """The names of every non-zero error code anywhere in ``message``."""
    found: list[str] = []
    for f, _, value in _wire_fields(message):
        if f.name.endswith("error_code") and isinstance(value, int) and value:
            found.append(_error_name(value))
        elif isinstance(value, WireStruct):
            found.extend(errors_in(value))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, WireStruct):
                    found.extend(errors_in(item))
    return found


# -- JSON ------------------------------------------------------------------------------
def to_json(message: WireStruct) -> dict[str, Any]:
    """Every field, JSON-ready: record batches as their headers, other bytes as a length
    and a hex preview, error codes with their names."""
    out: dict[str, Any] = {}
    for f, wf, value in _wire_fields(message):
        out[f.name] = _json_value(f.name, wf.type, value)
    return out


def _json_value(name: str, type_: FieldType, value: Any) -> Any:
    if type_ is RECORDS:
        batches = _batches(value)
        return {"bytes": _size(value), "batches": batches}
    if type_ is BYTES and value is not None:
        data = bytes(value)
        return {"bytes": len(data), "hex": data[:32].hex()}
    if isinstance(value, WireStruct):
        return to_json(value)
    if isinstance(value, list):
        item_type = type_.item if isinstance(type_, ArrayOf) else type_
        return [_json_value(name, item_type, v) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if name.endswith("error_code") and isinstance(value, int):
        return {"code": value, "name": _error_name(value)}
    return value


# -- which messages carry broker addresses ----------------------------------------------
def address_bearing(cls: type[WireStruct]) -> bool:
    """Whether ``cls`` (or a struct inside it) has ``host`` and ``port`` fields: a response
    that tells clients where brokers are (Metadata, FindCoordinator, DescribeCluster)."""
    names = {f.name for f in fields_of(cls)}
    if {"host", "port"} <= names:
        return True
    for f in fields_of(cls):
        wf = f.metadata.get("wire")
        inner = _inner_struct(wf.type) if isinstance(wf, WireField) else None
        if inner is not None and address_bearing(inner):
            return True
    return False


def _inner_struct(type_: FieldType) -> type[WireStruct] | None:
    while isinstance(type_, ArrayOf):
        type_ = type_.item
    return type_.cls if isinstance(type_, Struct) else None
