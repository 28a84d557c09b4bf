"""What every client core offers its runtime (the simulation or the asyncio driver)."""

from __future__ import annotations

from typing import Protocol

from reflog.client.actions import ClientAction
from reflog.client.network import ClientNetwork

__all__ = ["ClientCore"]


class ClientCore(Protocol):
    network: ClientNetwork

    def tick(self, now_ms: int) -> list[ClientAction]:
        """Advance to ``now_ms`` and return what the runtime should do."""
        ...

    def next_deadline_ms(self) -> int | None:
        """When :meth:`tick` must be called again even if nothing arrives."""
        ...
