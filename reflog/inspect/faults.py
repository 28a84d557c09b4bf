"""The faults a learner can ask the inspector for: drop some requests, delay others.

A dropped request never reaches the broker, so its client waits for an answer that never
comes, times out (``request.timeout.ms``), and retries, usually on a new connection. A delayed
request reaches the broker late: a short delay shows latency, a long one a timeout and a retry
whose first attempt still arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reflog.inspect.api_names import KAFKA_API_NAMES

__all__ = ["Faults", "parse_api", "parse_drop"]


@dataclass
class Faults:
    drop: dict[int, int | None] = field(
        default_factory=dict
    )  # API key -> how many more (None: all)
    delay_ms: int = 0
    delay_apis: frozenset[int] = frozenset()  # empty: every API is delayed

    def take_drop(self, api_key: int) -> bool:
        """Whether to drop this request (and count it against its API's budget)."""
        if api_key not in self.drop:
            return False
        left = self.drop[api_key]
        if left is None:
            return True
        if left <= 0:
            return False
        self.drop[api_key] = left - 1
        return True

    def delay_for(self, api_key: int) -> int:
        if not self.delay_apis or api_key in self.delay_apis:
            return self.delay_ms
        return 0


def parse_api(text: str) -> int:
    """An API by Kafka's name (any case: ``Produce``, ``fetch``) or by key (``0``)."""
    if text.isdigit():
        return int(text)
    by_name = {name.lower(): key for key, name in KAFKA_API_NAMES.items()}
    key = by_name.get(text.lower())
    if key is None:
        raise ValueError(f"unknown API {text!r} (a Kafka API name like Produce, or a key)")
    return key


def parse_drop(text: str) -> tuple[int, int | None]:
    """``API`` (drop every such request) or ``API:N`` (drop the next N)."""
    name, _, count = text.partition(":")
    if count and not count.isdigit():
        raise ValueError(f"--drop {text}: the count after ':' must be a number")
    return parse_api(name), int(count) if count else None
