"""The protocol inspector: a proxy that shows every request and response a Kafka client and a
broker exchange, decoded with ``reflog.wire``, and can drop or delay requests.

``reflog inspect --listen 127.0.0.1:9093 --upstream 127.0.0.1:9092`` runs it from a shell;
``reflog.viz.inspector.InspectorView`` runs it in a notebook as a live table.
"""

from reflog.inspect.conversation import Conversation, WireEvent
from reflog.inspect.faults import Faults, parse_api, parse_drop
from reflog.inspect.proxy import Inspector

__all__ = ["Conversation", "Faults", "Inspector", "WireEvent", "parse_api", "parse_drop"]
