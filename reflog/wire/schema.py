"""Declarative message descriptions: a dataclass per message, a wire type per field.

Kafka describes each message in JSON: fields, their types, and the versions
each field exists in. reflog writes the same description in Python, next to
the typed dataclass it decodes into::

    @dataclass(frozen=True)
    class MetadataRequest(Request):
        API_KEY = 3
        MAX_VERSION = 8
        topics: list[MetadataRequestTopic] | None = wire(ArrayOf(Struct(...)), "0+",
                                                        nullable="1+")
        allow_auto_topic_creation: bool = wire(BOOL, "4+", default=True)

One generic encoder and decoder walk those descriptions for any version, so
supporting a new version means adding the fields it introduced, never writing
a new parser. A field outside its versions is skipped when writing and takes
its default when reading.

reflog simplification: in flexible versions (KIP-482) tagged fields are read
and skipped, and written as an empty section; reflog sends no tagged fields.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar, dataclass_transform

from reflog.records.file_slice import FileSlice
from reflog.wire.codec import Chunk, Reader, Writer
from reflog.wire.errors import WireDecodeError

__all__ = [
    "BOOL",
    "BYTES",
    "FLOAT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "RECORDS",
    "STRING",
    "UUID",
    "ZERO_UUID",
    "ArrayOf",
    "FieldType",
    "Message",
    "Request",
    "Response",
    "Struct",
    "Versions",
    "WireStruct",
    "decode_struct",
    "encode_struct",
    "wire",
]

ZERO_UUID = uuid.UUID(int=0)

T = TypeVar("T", bound="WireStruct")


@dataclass(frozen=True)
class Versions:
    """An inclusive version range as Kafka writes it: "0+", "3-5", "none"."""

    lo: int
    hi: int | None

    @classmethod
    def parse(cls, spec: str) -> Versions:
        if spec == "none":
            return cls(1, 0)  # empty
        if spec.endswith("+"):
            return cls(int(spec[:-1]), None)
        if "-" in spec:
            lo, hi = spec.split("-")
            return cls(int(lo), int(hi))
        return cls(int(spec), int(spec))

    def __contains__(self, version: int) -> bool:
        return version >= self.lo and (self.hi is None or version <= self.hi)


class FieldType:
    """How one field's value is laid out on the wire."""

    def read(self, r: Reader, version: int, flexible: bool) -> Any:
        raise NotImplementedError

    def write(self, w: Writer, value: Any, version: int, flexible: bool) -> None:
        raise NotImplementedError


class _Fixed(FieldType):
    def __init__(self, name: str) -> None:
        self.name = name
        self._read: Callable[[Reader], Any] = getattr(Reader, name)
        self._write: Callable[[Writer, Any], None] = getattr(Writer, name)

    def read(self, r: Reader, version: int, flexible: bool) -> Any:
        return self._read(r)

    def write(self, w: Writer, value: Any, version: int, flexible: bool) -> None:
        self._write(w, value)

    def __repr__(self) -> str:
        return self.name.upper()


INT8: FieldType = _Fixed("int8")
INT16: FieldType = _Fixed("int16")
INT32: FieldType = _Fixed("int32")
INT64: FieldType = _Fixed("int64")
FLOAT64: FieldType = _Fixed("float64")
BOOL: FieldType = _Fixed("boolean")
UUID: FieldType = _Fixed("uuid")


class _String(FieldType):
    def read(self, r: Reader, version: int, flexible: bool) -> str | None:
        return r.string(flexible)

    def write(self, w: Writer, value: Any, version: int, flexible: bool) -> None:
        w.string(value, flexible)


class _Bytes(FieldType):
    def read(self, r: Reader, version: int, flexible: bool) -> bytes | memoryview | None:
        view = r.bytes_(flexible)
        if view is None or r.borrow_records:
            return view  # a view of the frame, which belongs to this one request
        return bytes(view)

    def write(self, w: Writer, value: Any, version: int, flexible: bool) -> None:
        w.bytes_(value, flexible)


class _Records(FieldType):
    """A record set: batches as they lie on disk. Written from bytes or from a
    :class:`FileSlice` (sent with sendfile: the zero-copy fetch path); read as
    bytes, or as a view of the frame when the reader borrows (the network server)."""

    def read(self, r: Reader, version: int, flexible: bool) -> bytes | memoryview | None:
        view = r.bytes_(flexible)
        if view is None or r.borrow_records:
            return view  # a view of the frame, which belongs to this one request
        return bytes(view)

    def write(self, w: Writer, value: Any, version: int, flexible: bool) -> None:
        w.bytes_(value, flexible)


STRING: FieldType = _String()
BYTES: FieldType = _Bytes()
RECORDS: FieldType = _Records()

RecordsValue = bytes | memoryview | FileSlice | None


class ArrayOf(FieldType):
    def __init__(self, item: FieldType) -> None:
        self.item = item

    def read(self, r: Reader, version: int, flexible: bool) -> list[Any] | None:
        n = r.array_length(flexible)
        if n < 0:
            return None
        return [self.item.read(r, version, flexible) for _ in range(n)]

    def write(self, w: Writer, value: Any, version: int, flexible: bool) -> None:
        if value is None:
            w.array_length(None, flexible)
            return
        w.array_length(len(value), flexible)
        for item in value:
            self.item.write(w, item, version, flexible)


class Struct(FieldType):
    def __init__(self, cls: type[WireStruct]) -> None:
        self.cls = cls

    def read(self, r: Reader, version: int, flexible: bool) -> WireStruct:
        return decode_struct(self.cls, r, version, flexible)

    def write(self, w: Writer, value: Any, version: int, flexible: bool) -> None:
        encode_struct(value, w, version, flexible)


@dataclass(frozen=True)
class WireField:
    type: FieldType
    versions: Versions
    nullable: Versions


_MISSING: Any = dataclasses.MISSING


def wire(
    type_: FieldType,
    versions: str = "0+",
    *,
    nullable: str = "none",
    default: Any = _MISSING,
    default_factory: Callable[[], Any] = _MISSING,
) -> Any:
    """Describe a dataclass field: its wire type and the versions it exists in."""
    meta = {"wire": WireField(type_, Versions.parse(versions), Versions.parse(nullable))}
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass_transform(frozen_default=True, field_specifiers=(wire,))
class WireStruct:
    """Base class of every message and nested struct: subclasses become frozen
    dataclasses whose fields are described with :func:`wire`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(frozen=True)(cls)


@dataclass(frozen=True)
class _Step:
    """One field of a struct as a given version lays it out (precomputed per version)."""

    name: str
    type: FieldType | None  # None: absent in this version, take the default
    nullable: bool
    default: Callable[[], Any]


_PLANS: dict[tuple[type, int], list[_Step]] = {}


def _default_maker(f: dataclasses.Field[Any]) -> Callable[[], Any]:
    if f.default is not dataclasses.MISSING:
        value = f.default
        return lambda: value
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory

    def missing() -> Any:
        raise WireDecodeError(f"field {f.name} has no default for a version that lacks it")

    return missing


def _plan(cls: type, version: int) -> list[_Step]:
    """The fields of ``cls`` in wire order for ``version``, computed once per version."""
    plan = _PLANS.get((cls, version))
    if plan is None:
        plan = []
        for f in dataclasses.fields(cls):
            wf: WireField | None = f.metadata.get("wire")
            if wf is None:
                continue
            present = version in wf.versions
            plan.append(
                _Step(
                    f.name, wf.type if present else None, version in wf.nullable, _default_maker(f)
                )
            )
        _PLANS[(cls, version)] = plan
    return plan


def decode_struct(cls: type[T], r: Reader, version: int, flexible: bool) -> T:
    values: dict[str, Any] = {}
    for step in _plan(cls, version):
        if step.type is None:
            values[step.name] = step.default()
            continue
        value = step.type.read(r, version, flexible)
        if value is None and not step.nullable:
            raise WireDecodeError(f"{cls.__name__}.{step.name} is null in version {version}")
        values[step.name] = value
    if flexible:
        r.skip_tagged_fields()
    return cls(**values)


def encode_struct(obj: WireStruct, w: Writer, version: int, flexible: bool) -> None:
    for step in _plan(type(obj), version):
        if step.type is None:
            continue
        value = getattr(obj, step.name)
        if value is None and not step.nullable:
            raise ValueError(f"{type(obj).__name__}.{step.name} cannot be null in v{version}")
        step.type.write(w, value, version, flexible)
    if flexible:
        w.empty_tagged_fields()


class Message(WireStruct):
    """A request or response body of one API, over a range of versions."""

    API_KEY: ClassVar[int]
    MIN_VERSION: ClassVar[int] = 0
    MAX_VERSION: ClassVar[int]
    # First version that uses compact types and tagged fields (KIP-482), if reflog has one.
    FLEXIBLE_FROM: ClassVar[int | None] = None

    @classmethod
    def is_flexible(cls, version: int) -> bool:
        return cls.FLEXIBLE_FROM is not None and version >= cls.FLEXIBLE_FROM

    @classmethod
    def supports(cls, version: int) -> bool:
        return cls.MIN_VERSION <= version <= cls.MAX_VERSION

    def encode(self, version: int) -> list[Chunk]:
        w = Writer()
        self.encode_into(w, version)
        return w.chunks()

    def encode_into(self, w: Writer, version: int) -> None:
        if not self.supports(version):
            raise ValueError(f"{type(self).__name__} has no version {version}")
        encode_struct(self, w, version, self.is_flexible(version))

    @classmethod
    def decode(cls, r: Reader, version: int) -> Self:
        if not cls.supports(version):
            raise WireDecodeError(f"{cls.__name__} has no version {version}")
        return decode_struct(cls, r, version, cls.is_flexible(version))


class Request(Message):
    """A request body; its response class is named by the API table."""


class Response(Message):
    """A response body."""
