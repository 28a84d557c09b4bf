"""Declarative message descriptions: a dataclass per message, a wire type per field.

Kafka describes each message in JSON: fields, their types, and the versions
each field exists in. reflog writes the same description in Python, next to
the typed dataclass it decodes into::

    @dataclass(frozen=True)
    class MetadataRequest(Request):
        API_KEY = ApiKey.METADATA
        MAX_VERSION = 8
        topics: list[MetadataRequestTopic] | None = wire(ArrayOf(Struct(...)), "0+",
                                                        nullable="1+")
        allow_auto_topic_creation: bool = wire(BOOL, "4+", default=True)

One generic encoder and decoder serve those descriptions for any version, so
supporting a new version means adding the fields it introduced, never writing
a new parser. A field outside its versions is skipped when writing and takes
its default when reading. The description is compiled the first time a version
is used: each struct becomes a list of per-field read and write functions, so a
busy broker does not interpret it anew for every field of every request.

reflog simplification: in flexible versions (KIP-482) tagged fields are read
and skipped, and written as an empty section; reflog sends no tagged fields.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
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


Read = Callable[[Reader], Any]
Write = Callable[[Writer, Any], None]


class FieldType:
    """How one field's value is laid out on the wire.

    A field type is compiled for one version: :meth:`reader` and :meth:`writer`
    return functions with every version's choice already made (compact lengths or
    not, which fields a nested struct has), so a message is not interpreted from its
    description again for each field of each request.
    """

    def reader(self, version: int, flexible: bool) -> Read:
        raise NotImplementedError

    def writer(self, version: int, flexible: bool) -> Write:
        raise NotImplementedError


class _Fixed(FieldType):
    def __init__(self, name: str) -> None:
        self.name = name
        self._read: Read = getattr(Reader, name)
        self._write: Write = getattr(Writer, name)

    def reader(self, version: int, flexible: bool) -> Read:
        return self._read

    def writer(self, version: int, flexible: bool) -> Write:
        return self._write

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
    def reader(self, version: int, flexible: bool) -> Read:
        return partial(Reader.string, flexible=flexible)

    def writer(self, version: int, flexible: bool) -> Write:
        return partial(Writer.string, flexible=flexible)


class _Bytes(FieldType):
    def reader(self, version: int, flexible: bool) -> Read:
        def read(r: Reader) -> bytes | memoryview | None:
            view = r.bytes_(flexible)
            if view is None or r.borrow_records:
                return view  # a view of the frame, which belongs to this one request
            return bytes(view)

        return read

    def writer(self, version: int, flexible: bool) -> Write:
        return partial(Writer.bytes_, flexible=flexible)


class _Records(_Bytes):
    """A record set: batches as they lie on disk, laid out as BYTES. Written from bytes
    or from a :class:`FileSlice` (sent with sendfile: the zero-copy fetch path); read as
    bytes, or as a view of the frame when the reader borrows (the network server)."""


STRING: FieldType = _String()
BYTES: FieldType = _Bytes()
RECORDS: FieldType = _Records()

RecordsValue = bytes | memoryview | FileSlice | None


class ArrayOf(FieldType):
    def __init__(self, item: FieldType) -> None:
        self.item = item

    def reader(self, version: int, flexible: bool) -> Read:
        read_item = self.item.reader(version, flexible)

        def read(r: Reader) -> list[Any] | None:
            n = r.array_length(flexible)
            if n < 0:
                return None
            return [read_item(r) for _ in range(n)]

        return read

    def writer(self, version: int, flexible: bool) -> Write:
        write_item = self.item.writer(version, flexible)

        def write(w: Writer, value: Any) -> None:
            if value is None:
                w.array_length(None, flexible)
                return
            w.array_length(len(value), flexible)
            for item in value:
                write_item(w, item)

        return write


class Struct(FieldType):
    def __init__(self, cls: type[WireStruct]) -> None:
        self.cls = cls

    def reader(self, version: int, flexible: bool) -> Read:
        return _codec(self.cls, version, flexible).decode

    def writer(self, version: int, flexible: bool) -> Write:
        return _codec(self.cls, version, flexible).encode


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
    """One field of a struct as a given version lays it out."""

    name: str
    read: Read | None  # None: absent in this version, take the default
    write: Write | None
    nullable: bool
    default: Callable[[], Any]


def _default_maker(f: dataclasses.Field[Any]) -> Callable[[], Any]:
    if f.default is not dataclasses.MISSING:
        value = f.default
        return lambda: value
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory

    def missing() -> Any:
        raise WireDecodeError(f"field {f.name} has no default for a version that lacks it")

    return missing


class _StructCodec:
    """A struct's fields in wire order for one version, each compiled to its reader and
    writer: built once per (struct, version), then used for every message."""

    def __init__(self, cls: type, version: int, flexible: bool) -> None:
        self.cls = cls
        self.version = version
        self.flexible = flexible
        self.steps: list[_Step] = []
        for f in dataclasses.fields(cls):
            wf: WireField | None = f.metadata.get("wire")
            if wf is None:
                continue
            present = version in wf.versions
            self.steps.append(
                _Step(
                    f.name,
                    wf.type.reader(version, flexible) if present else None,
                    wf.type.writer(version, flexible) if present else None,
                    version in wf.nullable,
                    _default_maker(f),
                )
            )

    def decode(self, r: Reader) -> Any:
        values: dict[str, Any] = {}
        for step in self.steps:
            if step.read is None:
                values[step.name] = step.default()
                continue
            value = step.read(r)
            if value is None and not step.nullable:
                raise WireDecodeError(
                    f"{self.cls.__name__}.{step.name} is null in version {self.version}"
                )
            values[step.name] = value
        if self.flexible:
            r.skip_tagged_fields()
        return self.cls(**values)

    def encode(self, w: Writer, obj: Any) -> None:
        for step in self.steps:
            if step.write is None:
                continue
            value = getattr(obj, step.name)
            if value is None and not step.nullable:
                raise ValueError(
                    f"{type(obj).__name__}.{step.name} cannot be null in v{self.version}"
                )
            step.write(w, value)
        if self.flexible:
            w.empty_tagged_fields()


_CODECS: dict[tuple[type, int, bool], _StructCodec] = {}


def _codec(cls: type[WireStruct], version: int, flexible: bool) -> _StructCodec:
    codec = _CODECS.get((cls, version, flexible))
    if codec is None:
        codec = _CODECS[(cls, version, flexible)] = _StructCodec(cls, version, flexible)
    return codec


def decode_struct(cls: type[T], r: Reader, version: int, flexible: bool) -> T:
    value: T = _codec(cls, version, flexible).decode(r)
    return value


def encode_struct(obj: WireStruct, w: Writer, version: int, flexible: bool) -> None:
    _codec(type(obj), version, flexible).encode(w, obj)


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

    def tolerates_unread_bytes(self, version: int, unread: int) -> bool:
        """Whether ``unread`` bytes after this body are a known client's quirk, ignored
        as Kafka (which never checks for them) ignores them. Every other request must
        end where its last field does."""
        return False


class Response(Message):
    """A response body."""
