"""reflog's controller messages: typed, versioned, round-tripping through the real codec."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reflog.controller.raft_wire import from_wire, to_wire
from reflog.controller.records import (
    FenceBrokerRecord,
    PartitionChangeRecord,
    PartitionRecord,
    ProducerIdsRecord,
    RegisterBrokerRecord,
    TopicConfig,
    TopicRecord,
    UnfenceBrokerRecord,
    decode_records,
    encode_records,
)
from reflog.raft.messages import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    InstallSnapshot,
    InstallSnapshotResponse,
    RaftMessage,
    RequestVote,
    RequestVoteResponse,
    Snapshot,
)
from reflog.wire.apis import (
    API_TABLE,
    CONTROLLER_API_TABLE,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.errors import UnsupportedApiError, WireDecodeError
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.quorum import (
    BrokerHeartbeatRequest,
    BrokerHeartbeatResponse,
    MetadataBatch,
)

terms = st.integers(0, 2**40)
ids = st.integers(0, 2**31 - 1).map(str)
entries = st.lists(
    st.builds(Entry, term=terms, index=st.integers(1, 2**40), data=st.binary(max_size=64)),
    max_size=5,
).map(tuple)
snapshots = st.builds(Snapshot, last_index=terms, last_term=terms, data=st.binary(max_size=64))
raft_messages = st.one_of(
    st.builds(
        RequestVote,
        term=terms,
        candidate_id=ids,
        last_log_index=terms,
        last_log_term=terms,
        pre_vote=st.booleans(),
    ),
    st.builds(RequestVoteResponse, term=terms, vote_granted=st.booleans(), pre_vote=st.booleans()),
    st.builds(
        AppendEntries,
        term=terms,
        leader_id=ids,
        prev_log_index=terms,
        prev_log_term=terms,
        entries=entries,
        leader_commit=terms,
    ),
    st.builds(
        AppendEntriesResponse,
        term=terms,
        success=st.booleans(),
        match_index=terms,
        conflict_index=terms,
    ),
    st.builds(InstallSnapshot, term=terms, leader_id=ids, snapshot=snapshots),
    st.builds(InstallSnapshotResponse, term=terms, match_index=terms),
)


@given(raft_messages, st.integers(0, 2**31 - 1))
def test_every_raft_message_survives_the_wire(message: RaftMessage, sender: int) -> None:
    wire = to_wire(sender, message)
    header = RequestHeader(wire.API_KEY, 0, 7, "c")
    frame = chunks_to_bytes(encode_request(header, wire))
    decoded = decode_request(frame, CONTROLLER_API_TABLE)
    assert from_wire(decoded.body) == (sender, message)  # type: ignore[arg-type]


def test_a_broker_listener_refuses_raft_messages() -> None:
    wire = to_wire(1, RequestVote(term=1, candidate_id="1", last_log_index=0, last_log_term=0))
    frame = chunks_to_bytes(encode_request(RequestHeader(wire.API_KEY, 0, 1, "c"), wire))
    try:
        decode_request(frame, API_TABLE)
    except UnsupportedApiError:
        pass
    else:
        raise AssertionError("a broker decoded a Raft message")


def test_heartbeat_answers_carry_metadata_batches() -> None:
    response = BrokerHeartbeatResponse(
        error_code=0,
        is_fenced=False,
        leader_id=3000,
        batches=[MetadataBatch(offset=5, data=b"abc")],
    )
    header = RequestHeader(BrokerHeartbeatRequest.API_KEY, 0, 9, "b")
    frame = chunks_to_bytes(encode_response(header, response, CONTROLLER_API_TABLE))
    _, decoded = decode_response(header.api_key, 0, frame, CONTROLLER_API_TABLE)
    assert decoded == response


def test_metadata_records_round_trip_and_reject_garbage() -> None:
    records = [
        RegisterBrokerRecord(broker_id=1, broker_epoch=4, host="h", port=9092, fenced=True),
        UnfenceBrokerRecord(broker_id=1, broker_epoch=4),
        TopicRecord(name="t", configs=[TopicConfig(name="retention.ms", value="1000")]),
        PartitionRecord(topic="t", partition=0, replicas=[1, 2], isr=[1, 2], leader=1),
        PartitionChangeRecord(
            topic="t", partition=0, leader=2, isr=[2], leader_epoch=1, partition_epoch=1
        ),
        FenceBrokerRecord(broker_id=1, broker_epoch=4),
        ProducerIdsRecord(broker_id=1, broker_epoch=4, next_producer_id=2000),
    ]
    assert decode_records(encode_records(records)) == records
    assert decode_records(b"") == []  # Raft's no-op entry
    for garbage in (b"\x00\x00\x00\x01\x00\x63\x00\x00", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x01"):
        try:
            decode_records(garbage)
        except WireDecodeError:
            continue
        raise AssertionError(f"decoded garbage {garbage!r}")
