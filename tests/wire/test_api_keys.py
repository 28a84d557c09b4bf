"""API keys by name: Kafka's numbers for Kafka's APIs, reflog's own far above them."""

from __future__ import annotations

from reflog.wire.api_keys import ApiKey
from reflog.wire.apis import API_TABLE, CONTROLLER_API_TABLE, encode_request
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.metadata import MetadataRequest

# From Kafka's ApiKeys enum (clients/src/main/java/org/apache/kafka/common/protocol/ApiKeys.java).
KAFKAS_NUMBERS = {
    "PRODUCE": 0,
    "FETCH": 1,
    "LIST_OFFSETS": 2,
    "METADATA": 3,
    "OFFSET_COMMIT": 8,
    "OFFSET_FETCH": 9,
    "FIND_COORDINATOR": 10,
    "JOIN_GROUP": 11,
    "HEARTBEAT": 12,
    "LEAVE_GROUP": 13,
    "SYNC_GROUP": 14,
    "DESCRIBE_GROUPS": 15,
    "LIST_GROUPS": 16,
    "API_VERSIONS": 18,
    "CREATE_TOPICS": 19,
    "OFFSET_FOR_LEADER_EPOCH": 23,
    "INIT_PRODUCER_ID": 22,
    "DELETE_TOPICS": 20,
    "DELETE_RECORDS": 21,
    "DESCRIBE_CONFIGS": 32,
    "ALTER_CONFIGS": 33,
    "CREATE_PARTITIONS": 37,
    "ELECT_LEADERS": 43,
    "INCREMENTAL_ALTER_CONFIGS": 44,
    "ALTER_PARTITION_REASSIGNMENTS": 45,
    "LIST_PARTITION_REASSIGNMENTS": 46,
    "DESCRIBE_CLUSTER": 60,
    "ADD_PARTITIONS_TO_TXN": 24,
    "ADD_OFFSETS_TO_TXN": 25,
    "END_TXN": 26,
    "WRITE_TXN_MARKERS": 27,
    "TXN_OFFSET_COMMIT": 28,
    "DESCRIBE_PRODUCERS": 61,
    "DESCRIBE_TRANSACTIONS": 65,
    "LIST_TRANSACTIONS": 66,
}


def test_kafkas_apis_keep_kafkas_numbers_and_reflogs_own_start_at_10000() -> None:
    assert {k.name: k.value for k in ApiKey if k.name in KAFKAS_NUMBERS} == KAFKAS_NUMBERS
    assert all(k >= 10_000 for k in ApiKey if k.name not in KAFKAS_NUMBERS)


def test_every_api_key_is_served_by_a_listener_and_names_its_message_classes() -> None:
    served = {**API_TABLE, **CONTROLLER_API_TABLE}
    assert set(served) == set(ApiKey)
    for key, api in served.items():
        assert api.key is ApiKey(key)
        assert api.name.lower() == key.name.replace("_", "").lower()


def test_the_key_goes_on_the_wire_as_the_first_int16_of_the_request() -> None:
    header = RequestHeader(ApiKey.METADATA, 1, 7, "c")
    frame = chunks_to_bytes(encode_request(header, MetadataRequest(topics=None)))
    assert frame[:2] == (3).to_bytes(2, "big")
