"""Every message round-trips in every version, and agrees with kafka-python's codec."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from reflog.wire.codec import Reader, chunks_to_bytes
from reflog.wire.schema import ArrayOf, Message, Struct, WireField, WireStruct

from .samples import SAMPLES

CASES = [(m, v) for m in SAMPLES for v in range(type(m).MIN_VERSION, type(m).MAX_VERSION + 1)]
IDS = [f"{type(m).__name__}-v{v}" for m, v in CASES]


def project(value: Any, version: int) -> Any:
    """What survives a trip through ``version``: fields the version lacks take their default."""
    if isinstance(value, list):
        return [project(v, version) for v in value]
    if not isinstance(value, WireStruct):
        return value
    changes = {}
    for f in dataclasses.fields(value):
        wf: WireField = f.metadata["wire"]
        if version in wf.versions:
            changes[f.name] = project(getattr(value, f.name), version)
        elif f.default is not dataclasses.MISSING:
            changes[f.name] = f.default
        else:
            assert f.default_factory is not dataclasses.MISSING
            changes[f.name] = f.default_factory()
    return dataclasses.replace(value, **changes)


# kafka-python's to_dict shows records as text and authorized operations as decoded bit
# lists under another name; those fields are checked by the round-trip test instead.
NOT_COMPARED = {"records", "topic_authorized_operations", "cluster_authorized_operations"}


def as_dict(value: Any, version: int) -> Any:
    """Field name -> value for the fields present in ``version`` (kafka-python's to_dict shape)."""
    if isinstance(value, list):
        return [as_dict(v, version) for v in value]
    if not isinstance(value, WireStruct):
        return value
    return {
        f.name: as_dict(getattr(value, f.name), version)
        for f in dataclasses.fields(value)
        if version in f.metadata["wire"].versions and f.name not in NOT_COMPARED
    }


@pytest.mark.parametrize(("message", "version"), CASES, ids=IDS)
def test_message_round_trips(message: Message, version: int) -> None:
    encoded = chunks_to_bytes(message.encode(version))
    reader = Reader(encoded)
    decoded = type(message).decode(reader, version)
    assert reader.remaining == 0
    assert decoded == project(message, version)


def kafka_python_class(message: Message) -> Any:
    from kafka.protocol.admin import CreateTopicsRequest, CreateTopicsResponse
    from kafka.protocol.consumer import (
        FetchRequest,
        FetchResponse,
        ListOffsetsRequest,
        ListOffsetsResponse,
    )
    from kafka.protocol.metadata import (
        ApiVersionsRequest,
        ApiVersionsResponse,
        MetadataRequest,
        MetadataResponse,
    )
    from kafka.protocol.producer import ProduceRequest, ProduceResponse

    classes = {
        c.__name__: c
        for c in (
            ApiVersionsRequest,
            ApiVersionsResponse,
            MetadataRequest,
            MetadataResponse,
            ProduceRequest,
            ProduceResponse,
            FetchRequest,
            FetchResponse,
            ListOffsetsRequest,
            ListOffsetsResponse,
            CreateTopicsRequest,
            CreateTopicsResponse,
        )
    }
    return classes[type(message).__name__]


def strip(value: Any, keep: Any) -> Any:
    """kafka-python's dict restricted to the keys reflog's has."""
    if isinstance(keep, dict) and isinstance(value, dict):
        return {k: strip(value.get(k), keep[k]) for k in keep}
    if isinstance(keep, list) and isinstance(value, list):
        return [strip(v, k) for v, k in zip(value, keep, strict=True)]
    return value


@pytest.mark.parametrize(("message", "version"), CASES, ids=IDS)
def test_kafka_python_decodes_what_reflog_encodes(message: Message, version: int) -> None:
    theirs = kafka_python_class(message).decode(
        chunks_to_bytes(message.encode(version)), version=version
    )
    ours = as_dict(message, version)
    assert strip(theirs.to_dict(), ours) == ours


def test_reflog_decodes_what_kafka_python_encodes() -> None:
    from kafka.protocol.consumer import FetchRequest as KFetch
    from kafka.protocol.metadata import MetadataRequest as KMetadata

    from reflog.wire.messages.fetch import FetchRequest
    from reflog.wire.messages.metadata import MetadataRequest

    theirs = KMetadata(
        topics=[KMetadata.MetadataRequestTopic(name="t")], allow_auto_topic_creation=False
    )
    ours = MetadataRequest.decode(Reader(theirs.encode(version=4)), 4)
    assert [t.name for t in ours.topics or []] == ["t"] and ours.allow_auto_topic_creation is False

    fetch = KFetch(
        replica_id=-1,
        max_wait_ms=100,
        min_bytes=1,
        max_bytes=1000,
        isolation_level=1,
        session_id=0,
        session_epoch=-1,
        topics=[
            KFetch.FetchTopic(
                topic="t",
                partitions=[
                    KFetch.FetchTopic.FetchPartition(
                        partition=3,
                        current_leader_epoch=-1,
                        fetch_offset=42,
                        log_start_offset=-1,
                        partition_max_bytes=999,
                    )
                ],
            )
        ],
        forgotten_topics_data=[],
        rack_id="",
    )
    decoded = FetchRequest.decode(Reader(fetch.encode(version=11)), 11)
    [partition] = decoded.topics[0].partitions
    assert (partition.partition, partition.fetch_offset, partition.partition_max_bytes) == (
        3,
        42,
        999,
    )
    assert decoded.isolation_level == 1


def test_struct_and_array_types_are_declared_for_nested_fields() -> None:
    # A guard for the declarative tables: every list field is an ArrayOf, every struct a Struct.
    for message in SAMPLES:
        for f in dataclasses.fields(message):
            wf: WireField = f.metadata["wire"]
            if isinstance(getattr(message, f.name), list):
                assert isinstance(wf.type, ArrayOf), f"{type(message).__name__}.{f.name}"
            if isinstance(getattr(message, f.name), WireStruct):
                assert isinstance(wf.type, Struct)
