"""Where clients learn broker addresses, and the inspector's rewrite of them to itself.

A Kafka client connects to its bootstrap address only to ask for Metadata; then it connects to
each broker at the host and port Metadata names (and to its group coordinator at the address
FindCoordinator names). A proxy that forwarded those answers unaltered would see the first few
requests and none after. So the inspector gives every broker address it sees its own local
listener (the upstream bootstrap broker gets the one the user chose) and rewrites every
``host``/``port`` pair in responses to those listeners: the client then talks through the
inspector to every broker.

A response reflog.wire cannot decode cannot be rewritten. The only responses that carry broker
addresses are those of APIs whose messages have ``host`` and ``port`` fields; for those, the
inspector also caps the versions the broker advertises in ApiVersions to the ones reflog.wire
decodes, so that clients pick a version the inspector can rewrite.
"""

from __future__ import annotations

from collections.abc import Mapping

from reflog.inspect.describe import M, address_bearing, fields_of, replaced
from reflog.wire.apis import Api
from reflog.wire.messages.api_versions import ApiVersionsResponse
from reflog.wire.schema import WireStruct

__all__ = ["Address", "broker_addresses", "cap_versions", "rewrite_addresses"]

Address = tuple[str, int]


def broker_addresses(message: WireStruct) -> set[Address]:
    """Every (host, port) pair anywhere in ``message``."""
    found: set[Address] = set()
    for value in _children(message):
        found |= broker_addresses(value)
    host, port = getattr(message, "host", None), getattr(message, "port", None)
    if isinstance(host, str) and isinstance(port, int) and host:
        found.add((host, port))
    return found


def rewrite_addresses(message: M, routes: Mapping[Address, Address]) -> tuple[M, int]:
    """``message`` with every (host, port) in ``routes`` replaced; and how many were."""
    changes: dict[str, object] = {}
    count = 0
    for f in fields_of(message):
        value = getattr(message, f.name)
        if isinstance(value, WireStruct):
            new, n = rewrite_addresses(value, routes)
            if n:
                changes[f.name], count = new, count + n
        elif isinstance(value, list) and value and isinstance(value[0], WireStruct):
            rewritten = [rewrite_addresses(item, routes) for item in value]
            n = sum(n for _, n in rewritten)
            if n:
                changes[f.name], count = [item for item, _ in rewritten], count + n
    host, port = getattr(message, "host", None), getattr(message, "port", None)
    if isinstance(host, str) and isinstance(port, int) and (host, port) in routes:
        changes["host"], changes["port"] = routes[(host, port)]
        count += 1
    return (replaced(message, **changes) if changes else message), count


def cap_versions(
    response: ApiVersionsResponse, apis: Mapping[int, Api]
) -> tuple[ApiVersionsResponse, list[str]]:
    """``response`` with each address-bearing API capped at the highest version ``apis``
    decodes; and the names of the APIs capped."""
    capped: list[str] = []
    keys = []
    for entry in response.api_keys:
        api = apis.get(entry.api_key)
        if (
            api is not None
            and address_bearing(api.response)
            and entry.max_version > api.max_version >= entry.min_version
        ):
            entry = replaced(entry, max_version=api.max_version)
            capped.append(f"{api.name} to v{api.max_version}")
        keys.append(entry)
    if not capped:
        return response, []
    return replaced(response, api_keys=keys), capped


def _children(message: WireStruct) -> list[WireStruct]:
    out: list[WireStruct] = []
    for f in fields_of(message):
        value = getattr(message, f.name)
        if isinstance(value, WireStruct):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, WireStruct))
    return out
