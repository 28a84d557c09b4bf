"""InitProducerId (key 22): a producer asks for a producer id and epoch.

An idempotent producer sends it once before its first produce; every batch it writes
then carries the id, the epoch and a sequence number per partition, and the partition
leader uses them to drop a retried batch it already has (KIP-98). kafka-python 3.x
does it by default, librdkafka and aiokafka with ``enable.idempotence``.

Versions: v1 is v0 (only the throttling behaviour changed); v2 is the first flexible
version; v3 adds the producer id and epoch a transactional producer already holds
(KIP-360); v4 and v5 only allow new error codes (PRODUCER_FENCED, KIP-588;
TRANSACTION_ABORTABLE, KIP-890) that reflog never sends.
"""

from __future__ import annotations

from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import INT16, INT32, INT64, STRING, Request, Response, wire

__all__ = ["InitProducerIdRequest", "InitProducerIdResponse"]

_MAX_VERSION = 5
_FLEXIBLE_FROM = 2


class InitProducerIdRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.INIT_PRODUCER_ID
    MAX_VERSION: ClassVar[int] = _MAX_VERSION
    FLEXIBLE_FROM: ClassVar[int | None] = _FLEXIBLE_FROM

    # Null for an idempotent producer; a transactional producer names its transactional.id.
    transactional_id: str | None = wire(STRING, nullable="0+", default=None)
    transaction_timeout_ms: int = wire(INT32, default=-1)
    producer_id: int = wire(INT64, "3+", default=-1)
    producer_epoch: int = wire(INT16, "3+", default=-1)


class InitProducerIdResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.INIT_PRODUCER_ID
    MAX_VERSION: ClassVar[int] = _MAX_VERSION
    FLEXIBLE_FROM: ClassVar[int | None] = _FLEXIBLE_FROM

    throttle_time_ms: int = wire(INT32, default=0)
    error_code: int = wire(INT16, default=0)
    producer_id: int = wire(INT64, default=-1)
    producer_epoch: int = wire(INT16, default=-1)
