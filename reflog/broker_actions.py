"""What a broker core asks its runtime to do: answer a client, or talk to another node."""

from __future__ import annotations

from dataclasses import dataclass

from reflog.wire.headers import RequestHeader
from reflog.wire.messages.configs import (
    AlterConfigsRequest,
)
from reflog.wire.messages.create_topics import CreateTopicsRequest
from reflog.wire.messages.fetch import FetchRequest
from reflog.wire.messages.incremental_alter_configs import (
    IncrementalAlterConfigsRequest,
)
from reflog.wire.messages.offset_for_leader_epoch import OffsetForLeaderEpochRequest
from reflog.wire.messages.partition_admin import (
    AlterPartitionReassignmentsRequest,
    ElectLeadersRequest,
)
from reflog.wire.messages.quorum import AllocateProducerIdsRequest, AlterPartitionRequest
from reflog.wire.messages.topic_admin import CreatePartitionsRequest, DeleteTopicsRequest
from reflog.wire.messages.transactions import WriteTxnMarkersRequest
from reflog.wire.schema import Response

__all__ = ["Action", "Forward", "Respond", "SendToBroker", "ToController"]


@dataclass(frozen=True)
class Respond:
    """Send ``response`` on connection ``conn`` as the answer to ``header``.

    ``response`` is None for a produce with ``acks=0``: the request is complete
    but, as in Kafka, nothing is sent back.
    """

    conn: int
    header: RequestHeader
    response: Response | None


@dataclass(frozen=True)
class Forward:
    """Send ``request`` to the active controller; if ``reply_to`` is set, answer that
    client request (connection, header) with the controller's response (KIP-590).
    CreateTopics, and every admin request that changes the metadata, goes this way."""

    request: (
        CreateTopicsRequest
        | DeleteTopicsRequest
        | CreatePartitionsRequest
        | AlterConfigsRequest
        | IncrementalAlterConfigsRequest
        | ElectLeadersRequest
        | AlterPartitionReassignmentsRequest
    )
    reply_to: tuple[int, RequestHeader] | None


@dataclass(frozen=True)
class SendToBroker:
    """A follower's request to the leader broker ``broker_id`` (its Kafka listener), or a
    transaction coordinator's markers; the answer goes to :meth:`Broker.on_broker_response`,
    a failure to ``on_broker_unreachable``."""

    broker_id: int
    request: FetchRequest | OffsetForLeaderEpochRequest | WriteTxnMarkersRequest


@dataclass(frozen=True)
class ToController:
    """A leader's ISR change for the active controller, or a request for producer ids;
    the answer goes to :meth:`Broker.on_alter_partition_response` or
    :meth:`Broker.on_allocate_producer_ids_response`."""

    request: AlterPartitionRequest | AllocateProducerIdsRequest


Action = Respond | Forward | SendToBroker | ToController
