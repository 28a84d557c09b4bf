"""ListTransactions (key 66, KIP-664): the transactional ids a broker coordinates.

Each broker answers only for the ids whose ``__transaction_state`` partition it leads (as
ListGroups for groups); an admin tool asks every broker and merges the answers. The
filters: states by Kafka's names (a name it does not know comes back in
``unknown_state_filters`` and matches nothing), producer ids, and from v1 a duration: only
transactions running longer than ``duration_filter`` ms (-1: any).

reflog simplification: v2 (KIP-1152, a regular expression over transactional ids) is not
implemented; a client asking for that filter is told the broker does not support it.
"""

from __future__ import annotations

from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import (
    INT16,
    INT32,
    INT64,
    STRING,
    ArrayOf,
    Request,
    Response,
    Struct,
    WireStruct,
    wire,
)

__all__ = ["ListTransactionsRequest", "ListTransactionsResponse", "TransactionState"]

_MAX_VERSION = 1


class ListTransactionsRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.LIST_TRANSACTIONS
    MAX_VERSION: ClassVar[int] = _MAX_VERSION
    FLEXIBLE_FROM: ClassVar[int | None] = 0

    state_filters: list[str] = wire(ArrayOf(STRING), default_factory=list)
    producer_id_filters: list[int] = wire(ArrayOf(INT64), default_factory=list)
    duration_filter: int = wire(INT64, "1+", default=-1)


class TransactionState(WireStruct):
    """One listed transactional id (Kafka's type name)."""

    transactional_id: str = wire(STRING)
    producer_id: int = wire(INT64)
    transaction_state: str = wire(STRING)


class ListTransactionsResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.LIST_TRANSACTIONS
    MAX_VERSION: ClassVar[int] = _MAX_VERSION
    FLEXIBLE_FROM: ClassVar[int | None] = 0

    throttle_time_ms: int = wire(INT32, default=0)
    error_code: int = wire(INT16, default=0)
    unknown_state_filters: list[str] = wire(ArrayOf(STRING), default_factory=list)
    transaction_states: list[TransactionState] = wire(
        ArrayOf(Struct(TransactionState)), default_factory=list
    )
